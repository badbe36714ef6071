/** `MixtureGelu` and `MixtureGeluGrad` (ops/gelu.ts) as one addon pass each. */
import {GELU_GRAD_KERNEL, GELU_KERNEL} from '../../../ops/gelu.js'
import {B, U} from '../addon.js'
import type {NativeKernel} from '../kernel.js'
import {binaryKernel} from './binary.js'
import {unaryKernel} from './unary.js'

const gelu = unaryKernel(U.gelu)
const geluGrad = binaryKernel(B.geluGrad, ['dy', 'x'])

export const geluKernels: NativeKernel[] = [
  {
    kernelName: GELU_KERNEL,
    run: (args, addon) => {
      const r = gelu(args, addon)
      if (!r) throw new Error(`${GELU_KERNEL}: x must be float32`)
      return r
    },
  },
  {
    kernelName: GELU_GRAD_KERNEL,
    run: (args, addon) => {
      const r = geluGrad(args, addon)
      if (!r) throw new Error(`${GELU_GRAD_KERNEL}: dy and x must be float32`)
      return r
    },
  },
]
