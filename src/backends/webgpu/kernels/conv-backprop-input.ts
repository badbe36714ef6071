/**
 * `Conv2DBackpropInput` on WebGPU, these routes:
 *
 * - stride 1 (NHWC, padding at most the filter size − 1): the input gradient is an ordinary forward
 *   convolution of dy with the filter flipped in space and its channel axes swapped,
 *   dx = conv2d(dy, W'), W'[i, j, o, c] = W[kh−1−i, kw−1−j, c, o], padding kh−1−top (etc.) — so it runs
 *   on tfjs's forward program (`Conv2DMMProgram`: vec4 loads of both operands) after one small
 *   `MixtureFlipFilter` dispatch; a 1×1 filter is one matrix product dy · Wᵀ (no flip). On the H200
 *   the tiled transposed-convolution program below took 7.5 ms for ResNet-18's 20 input gradients
 *   against 3.9 ms for its 20 forward convolutions (bench/gpu/profile.ts): it reads the filter with
 *   four scalar loads and the gradient with float division per element. MIXTURE_WEBGPU_CONV_INPUT_FORWARD=0
 *   turns this route off.
 * - strided (stride s): the same forward convolution of dy read as if (s − 1) zeros stood between its
 *   rows and columns (skipped, never stored; `forwardCall`), on the product kernel (../programs/gemm.ts
 *   `convGemm` with an input dilation) or, for dx with a narrow side (the image's gradient through a
 *   first layer), the narrow kernel (../programs/narrow-conv.ts). In fp32 these are kernel tuning's
 *   routes 'dilated' and 'dilated-narrow' (timed, never taken untimed); in mixed16 the default, as they
 *   round inside where tfjs's program would run between rounding passes (../precision.ts).
 * - otherwise tfjs ships two programs: a naive one (one thread per input element looping over the
 *   filter; its default) and a tiled matrix-product one (`Conv2DDerInputMMProgram`, behind
 *   WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE=false). Measured on an H200 (bench/gpu/profile.ts and
 *   `MODE=compare bash bench/gpu/run.sh`), the naive one took 1.3 ms per call on the 96×96
 *   Perceiver-table CNN against 0.8 ms for the tiled one (training step 35.9 → 29.8 ms), and the
 *   tiled one on every map size was no slower on ResNet-18 and the 32×32 mixtures (25.5 → 24.2 ms,
 *   52.1 → 48.7 ms; single runs, noisy host). This uses the tiled program for maps of at least
 *   MIXTURE_WEBGPU_CONV_INPUT_MM pixels (default 0: all; -1: never) and the naive one below.
 */
import {tf} from '../../../engine/tf.js'
import {dilatedExtents, isDilated} from '../programs/conv-geometry.js'
import {convGemm} from '../programs/gemm.js'
import {convGemmPlan} from '../programs/gemm-plan.js'
import {narrowConv, narrowGroup} from '../programs/narrow-conv.js'
import {insteadOfRoundedTfjs} from '../precision.js'
import {bindingsWgsl, flatIndexWgsl, flatWorkgroups, runKernel, webgpuKernelFunc, type WebgpuBackendInternals} from '../runner.js'
import {webgpuSwitch} from '../switches.js'
import type {Alternative, TunedKernel} from '../tune.js'

const FLAG = 'WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE'
const WORKGROUP = 256

interface BackpropInputAttrs {
  inputShape: number[]
  strides: number | [number, number]
  pad: 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]]
  dataFormat: 'NHWC' | 'NCHW'
  dimRoundingMode?: 'floor' | 'round' | 'ceil'
}

type Backend = WebgpuBackendInternals & tf.KernelBackend

function flipFilterWgsl(): string {
  return /* wgsl */ `
struct Params { size : u32, kh : u32, kw : u32, cin : u32, cout : u32, };
${bindingsWgsl(['out'], ['w'])}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  ${flatIndexWgsl(WORKGROUP)}
  if (index >= u.size) { return; }
  // out is (kh, kw, cout, cin); w is (kh, kw, cin, cout).
  let c = index % u.cin;
  let t = index / u.cin;
  let o = t % u.cout;
  let t2 = t / u.cout;
  let j = t2 % u.kw;
  let i = t2 / u.kw;
  out[index] = w[(((u.kh - 1u - i) * u.kw + (u.kw - 1u - j)) * u.cin + c) * u.cout + o];
}
`
}

/** W' = W flipped in space with its channel axes swapped: (kh, kw, cin, cout) → (kh, kw, cout, cin). */
export function flipFilter(backend: Backend, filter: tf.TensorInfo): tf.TensorInfo {
  const [kh, kw, cin, cout] = filter.shape
  const size = kh * kw * cin * cout
  return runKernel(backend, {
    name: 'MixtureFlipFilter',
    key: 'flip-filter',
    wgsl: flipFilterWgsl,
    workgroups: flatWorkgroups(backend, size, WORKGROUP),
    inputs: [filter],
    outputs: [{shape: [kh, kw, cout, cin]}],
    uniforms: [
      {type: 'uint32', data: [size]},
      {type: 'uint32', data: [kh]},
      {type: 'uint32', data: [kw]},
      {type: 'uint32', data: [cin]},
      {type: 'uint32', data: [cout]},
    ],
  })[0]
}

/** A call's input gradient as a forward convolution of dy (`forwardCall`). */
interface ForwardCall {
  backend: Backend
  dy: tf.TensorInfo
  filter: tf.TensorInfo
  attrs: BackpropInputAttrs
  /** The forward convolution's explicit padding (NHWC, batch and channels unpadded). */
  pad: [[number, number], [number, number], [number, number], [number, number]]
  /** dy's dilation: the original convolution's strides ([1, 1]: a stride-1 convolution's gradient). */
  inputDilation: [number, number]
  /** The forward convolution's geometry: dy (dilated) ⊛ the flipped filter (kh, kw, cout, cin). */
  info: tf.backend_util.Conv2DInfo
}

/**
 * dx as the forward convolution of dy with the flipped filter W', stride 1: dy read as if (s − 1)
 * zeros stood between its rows and columns (s the stride; none for stride 1), padded kh − 1 − top
 * above and so much below that the output is dx's height (likewise across). Undefined where that
 * padding would be negative, or the convolution is dilated or not NHWC float32.
 */
function forwardCall(args: Parameters<tf.KernelFunc>[0]): ForwardCall | undefined {
  const {dy, filter} = args.inputs as {dy: tf.TensorInfo; filter: tf.TensorInfo}
  const a = args.attrs as unknown as BackpropInputAttrs
  if (a.dataFormat !== 'NHWC' || dy.dtype !== 'float32' || filter.dtype !== 'float32' || dy.shape.length !== 4 || filter.shape.length !== 4) return undefined
  const info = tf.backend_util.computeConv2DInfo(a.inputShape as [number, number, number, number], filter.shape as [number, number, number, number], a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast')
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined
  const [, height, width] = a.inputShape
  const [kh, kw, cin, cout] = filter.shape
  const inputDilation: [number, number] = [info.strideHeight, info.strideWidth]
  const dilated = dilatedExtents(dy.shape, inputDilation)
  const top = kh - 1 - info.padInfo.top
  const left = kw - 1 - info.padInfo.left
  const pads: [number, number, number, number] = [top, height + kh - 1 - dilated[1] - top, left, width + kw - 1 - dilated[2] - left]
  if (pads.some((p) => p < 0)) return undefined
  const pad: ForwardCall['pad'] = [[0, 0], [pads[0], pads[1]], [pads[2], pads[3]], [0, 0]]
  return {
    backend: args.backend as unknown as Backend,
    dy,
    filter,
    attrs: a,
    pad,
    inputDilation,
    info: tf.backend_util.computeConv2DInfo(dilated, [kh, kw, cout, cin], 1, 1, pad, undefined, false, 'channelsLast'),
  }
}

/** dx of a stride-1 convolution through the Conv2D kernel (or a matrix product for 1×1). */
function viaForward({backend, dy, filter, attrs, pad}: ForwardCall): tf.TensorInfo {
  const reshape = webgpuKernelFunc('Reshape')
  const [kh, kw, cin, cout] = filter.shape
  const [batch, height, width] = attrs.inputShape
  if (kh === 1 && kw === 1) {
    // dx (B·H·W, cin) = dy (B·H·W, cout) · W (cin, cout)ᵀ
    const a3 = reshape({inputs: {x: dy}, backend, attrs: {shape: [1, batch * height * width, cout]}}) as tf.TensorInfo
    const b3 = reshape({inputs: {x: filter}, backend, attrs: {shape: [1, cin, cout]}}) as tf.TensorInfo
    const product = webgpuKernelFunc('BatchMatMul')({inputs: {a: a3, b: b3}, backend, attrs: {transposeA: false, transposeB: true}}) as tf.TensorInfo
    const dx = reshape({inputs: {x: product}, backend, attrs: {shape: attrs.inputShape}}) as tf.TensorInfo
    for (const t of [a3, b3, product]) backend.disposeData(t.dataId)
    return dx
  }
  const flipped = flipFilter(backend, filter)
  const dx = webgpuKernelFunc('Conv2D')({inputs: {x: dy, filter: flipped}, backend, attrs: {strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1]}}) as tf.TensorInfo
  backend.disposeData(flipped.dataId)
  return dx
}

/**
 * Which kernel runs a strided convolution's input gradient as the forward convolution of the dilated
 * dy (`forwardCall`): the product kernel ('gemm': its default plan, else its 'wide' one) or the narrow
 * kernel (dx with a narrow side: the image's gradient through a first layer).
 */
type DilatedKernel = 'gemm' | 'narrow'

/** dx of a strided convolution on `kernel`, or undefined where the kernel does not take it. */
function viaDilatedForward({backend, dy, filter, pad, inputDilation, info}: ForwardCall, kernel: DilatedKernel): tf.TensorInfo | undefined {
  if (kernel === 'narrow' ? narrowGroup(info) === undefined : !(convGemmPlan(info, true) ?? convGemmPlan(info, true, 'wide'))) return undefined
  const flipped = flipFilter(backend, filter)
  const conv = {x: dy, filter: flipped, strides: 1, pad, epilogue: 'none', inputDilation} as const
  const dx =
    kernel === 'narrow'
      ? narrowConv(backend, {x: dy, filter: flipped, relu: false, info, inputDilation})
      : (convGemm(backend, conv) ?? convGemm(backend, {...conv, variant: 'wide'}))
  backend.disposeData(flipped.dataId)
  return dx
}

/** `Conv2DBackpropInput` through the routes above, or undefined when the switches leave every call to tfjs's naive program. */
export function convBackpropInputKernel(): TunedKernel | undefined {
  const threshold = webgpuSwitch('convInputMatMul')
  const forward = webgpuSwitch('convInputForward')
  if (threshold < 0 && !forward) return undefined
  /** A tuning route: a strided call on `kernel`. */
  const dilated =
    (kernel: DilatedKernel): Alternative =>
    (args) => {
      const call = forwardCall(args)
      return call && isDilated(call.inputDilation) ? viaDilatedForward(call, kernel) : undefined
    }
  return {
    kernelName: 'Conv2DBackpropInput',
    wrap: (run) => (args) => {
      const a = args.attrs as unknown as BackpropInputAttrs
      const call = forward ? forwardCall(args) : undefined
      if (call) {
        const dx = isDilated(call.inputDilation) ? insteadOfRoundedTfjs(() => viaDilatedForward(call, 'gemm') ?? viaDilatedForward(call, 'narrow')) : viaForward(call)
        if (dx) return dx
      }
      if (threshold < 0) return run(args)
      const pixels = a.dataFormat === 'NCHW' ? a.inputShape[2] * a.inputShape[3] : a.inputShape[1] * a.inputShape[2]
      const env = tf.env()
      const before = env.getBool(FLAG)
      env.set(FLAG, pixels < threshold)
      try {
        return run(args)
      } finally {
        env.set(FLAG, before)
      }
    },
    // Strided input gradients only (a stride-1 one is a Conv2D call, timed as such).
    alternatives: (): Record<string, Alternative> => (forward ? {dilated: dilated('gemm'), 'dilated-narrow': dilated('narrow')} : {}),
  }
}
