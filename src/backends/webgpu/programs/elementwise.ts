/**
 * Element-wise kernels on WebGPU: one thread per output element, a WGSL body over named inputs, and
 * the float32 and shape checks the activation kernels share. The WGSL has exact GELU's functions:
 * erf is Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), the approximation tfjs's cpu `Erf` uses.
 */
import {tf} from '../../../engine/tf.js'
import {bindingsWgsl, flatIndexWgsl, flatWorkgroups, runKernel, type WebgpuBackendInternals} from '../runner.js'

const WORKGROUP = 256

const ERF_WGSL = /* wgsl */ `
fn erf_as(x : f32) -> f32 {
  let t = 1.0 / (1.0 + 0.3275911 * abs(x));
  let poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
  return sign(x) * (1.0 - poly * exp(-x * x));
}
fn gelu(x : f32) -> f32 { return 0.5 * x * (1.0 + erf_as(x * 0.7071067811865476)); }
fn geluGrad(x : f32) -> f32 {
  return 0.5 * (1.0 + erf_as(x * 0.7071067811865476)) + x * 0.3989422804014327 * exp(-0.5 * x * x);
}`

function elementwiseWgsl(outputs: number, inputs: string[], body: string): string {
  return /* wgsl */ `
struct Params { size : u32, half : u32, };
${bindingsWgsl(Array.from({length: outputs}, (_, i) => `out${i}`), inputs)}
${ERF_WGSL}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  ${flatIndexWgsl(WORKGROUP)}
  if (index >= u.size) { return; }
  ${body}
}
`
}

export function float32(name: string, ...ts: tf.TensorInfo[]): void {
  for (const t of ts) if (t.dtype !== 'float32') throw new Error(`${name}: float32 tensors only, got ${t.dtype}`)
}

export function sameShape(name: string, a: tf.TensorInfo, b: tf.TensorInfo): void {
  if (!tf.util.arraysEqual(a.shape, b.shape)) throw new Error(`${name} needs two tensors of one shape, got [${a.shape}] and [${b.shape}]`)
}

/**
 * The webgpu kernel `name`: one thread per output element running `body` (WGSL with `index`,
 * `u.half`, the inputs by name and `out0`, and the GELU functions); `shapes` checks the inputs and
 * gives the output shape.
 */
export function elementwiseKernel(name: string, key: string, inputNames: string[], body: string, shapes: (inputs: tf.TensorInfo[]) => {out: number[]; threads: number[]; half: number}): tf.KernelConfig {
  return {
    kernelName: name,
    backendName: 'webgpu',
    kernelFunc: ({inputs, backend}) => {
      const b = backend as unknown as WebgpuBackendInternals
      const list = inputNames.map((n) => inputs[n] as tf.TensorInfo)
      float32(name, ...list)
      const {out, threads, half} = shapes(list)
      const n = tf.util.sizeFromShape(threads)
      return runKernel(b, {
        name,
        key,
        wgsl: () => elementwiseWgsl(1, inputNames, body),
        workgroups: flatWorkgroups(b, n, WORKGROUP),
        inputs: list,
        outputs: [{shape: out}],
        uniforms: [{type: 'uint32', data: [n]}, {type: 'uint32', data: [half]}],
      })[0]
    },
  }
}
