/** `MixtureAdamW` (ops/adamw.ts) as one pass over the WASM heap: the cpu backend's loop on views of the tensors' memory. */
import {ADAMW} from '../../../ops/adamw.js'
import {adamwLoop} from '../../cpu/kernels/adamw.js'
import {heapUpdateKernel} from '../heap.js'

export const adamwConfig = heapUpdateKernel(ADAMW.kernel, ADAMW.state, adamwLoop)
