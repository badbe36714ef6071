/**
 * `Conv2DBackpropInput` on WebGPU: tfjs ships two programs for it, a naive one (one thread per input
 * element looping over the filter; its default) and a tiled matrix-product one
 * (`Conv2DDerInputMMProgram`, behind WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE=false). Measured on an H200
 * (bench/gpu/profile.ts and `MODE=compare bash bench/gpu/run.sh`), the naive one took 1.3 ms per
 * call on the 96×96 Perceiver-table CNN against 0.8 ms for the tiled one (training step 35.9 →
 * 29.8 ms), and using the tiled one on every map size was no slower on ResNet-18 and the 32×32
 * mixtures (25.5 → 24.2 ms, 52.1 → 48.7 ms; single runs, noisy host). This uses the tiled program
 * for maps of at least MIXTURE_WEBGPU_CONV_INPUT_MM pixels (default 0: all; -1: never) and the
 * naive one below.
 */
import {tf} from '../tf.js'
import {wrapWebgpuKernel} from './runner.js'

const FLAG = 'WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE'

export function installConvInputChoice(): void {
  const threshold = Number(process.env.MIXTURE_WEBGPU_CONV_INPUT_MM ?? 0)
  if (threshold < 0) return
  wrapWebgpuKernel('Conv2DBackpropInput', (run) => (args) => {
    const {inputShape, dataFormat} = args.attrs as unknown as {inputShape: number[]; dataFormat: string}
    const pixels = dataFormat === 'NCHW' ? inputShape[2] * inputShape[3] : inputShape[1] * inputShape[2]
    const env = tf.env()
    const before = env.getBool(FLAG)
    env.set(FLAG, pixels < threshold)
    try {
      return run(args)
    } finally {
      env.set(FLAG, before)
    }
  })
}
