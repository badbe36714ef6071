/** `MixtureSgd` (ops/sgd.ts) as one pass over the WASM heap: the cpu backend's loop on views of the tensors' memory. */
import {SGD} from '../../../ops/sgd.js'
import {sgdLoop} from '../../cpu/kernels/sgd.js'
import {heapUpdateKernel} from '../heap.js'

export const sgdConfig = heapUpdateKernel(SGD.kernel, SGD.state, sgdLoop)
