/**
 * Element-wise and row-wise kernels that replace tfjs composites on WebGPU (one dispatch each way
 * instead of 4–10), same contracts as the native and WASM kernels:
 *   MixtureGelu {x} → 0.5·x·(1 + erf(x/√2));  MixtureGeluGrad {dy, x} → dy·(Φ(x) + x·φ(x))
 *   MixtureReluGrad {dy, x} → dy·step(x) (step(NaN) = NaN, as tfjs-core's Relu gradient)
 *   MixtureSoftmaxGrad {dy, y} → y·(dy − Σ dy·y) over the last axis
 *   MixtureGeglu {x} (…, 2D) → x[…, :D] · GELU(x[…, D:]);  MixtureGegluGrad {dy, x} → (…, 2D)
 * erf is Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), the approximation tfjs's cpu `Erf` uses.
 */
import {tf} from '../tf.js'
import {bindingsWgsl, flatIndexWgsl, flatWorkgroups, runKernel, type WebgpuBackendInternals} from './runner.js'

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

function float32(name: string, ...ts: tf.TensorInfo[]): void {
  for (const t of ts) if (t.dtype !== 'float32') throw new Error(`${name}: float32 tensors only, got ${t.dtype}`)
}

function sameShape(name: string, a: tf.TensorInfo, b: tf.TensorInfo): void {
  if (!tf.util.arraysEqual(a.shape, b.shape)) throw new Error(`${name} needs two tensors of one shape, got [${a.shape}] and [${b.shape}]`)
}

/**
 * Register `name` on webgpu: one thread per output element running `body` (WGSL with `index`,
 * `u.half`, the inputs by name and `out0`); `shapes` checks the inputs and gives the output shape.
 */
function elementwiseKernel(name: string, key: string, inputNames: string[], body: string, shapes: (inputs: tf.TensorInfo[]) => {out: number[]; threads: number[]; half: number}): void {
  tf.registerKernel({
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
  })
}

elementwiseKernel('MixtureGelu', 'gelu', ['x'], 'out0[index] = gelu(x[index]);', ([x]) => ({out: x.shape, threads: x.shape, half: 0}))

elementwiseKernel('MixtureGeluGrad', 'gelu-grad', ['dy', 'x'], 'out0[index] = dy[index] * geluGrad(x[index]);', ([dy, x]) => {
  sameShape('MixtureGeluGrad', dy, x)
  return {out: x.shape, threads: x.shape, half: 0}
})

elementwiseKernel(
  'MixtureReluGrad',
  'relu-grad',
  ['dy', 'x'],
  `let xv = x[index];
  var s = select(0.0, 1.0, xv > 0.0);
  // NaN by its bits: a compiler may fold xv != xv to false.
  if ((bitcast<u32>(xv) & 0x7fffffffu) > 0x7f800000u) { s = xv; }
  out0[index] = dy[index] * s;`,
  ([dy, x]) => {
    sameShape('MixtureReluGrad', dy, x)
    return {out: x.shape, threads: x.shape, half: 0}
  },
)

function gegluShapes(name: string, x: tf.TensorInfo): {half: number; outShape: number[]} {
  const last = x.shape[x.shape.length - 1] ?? 0
  if (x.shape.length === 0 || last % 2 !== 0) throw new Error(`${name}: the last axis must have an even size, got [${x.shape}]`)
  return {half: last / 2, outShape: [...x.shape.slice(0, -1), last / 2]}
}

const GEGLU_INDEX = 'let row = index / u.half; let col = index % u.half; let base = row * 2u * u.half + col;'

elementwiseKernel('MixtureGeglu', 'geglu', ['x'], `${GEGLU_INDEX}\n  out0[index] = x[base] * gelu(x[base + u.half]);`, ([x]) => {
  const {half, outShape} = gegluShapes('MixtureGeglu', x)
  return {out: outShape, threads: outShape, half}
})

elementwiseKernel(
  'MixtureGegluGrad',
  'geglu-grad',
  ['dy', 'x'],
  `${GEGLU_INDEX}
  let g = x[base + u.half];
  out0[base] = dy[index] * gelu(g);
  out0[base + u.half] = dy[index] * x[base] * geluGrad(g);`,
  ([dy, x]) => {
    const {half, outShape} = gegluShapes('MixtureGegluGrad', x)
    if (!tf.util.arraysEqual(dy.shape, outShape)) throw new Error(`MixtureGegluGrad: dy must have shape [${outShape}], got [${dy.shape}]`)
    return {out: x.shape, threads: outShape, half}
  },
)

const ROW_WORKGROUP = 128

function softmaxGradWgsl(): string {
  return /* wgsl */ `
struct Params { rows : u32, cols : u32, };
${bindingsWgsl(['dx'], ['dy', 'y'])}
var<workgroup> partial : array<f32, ${ROW_WORKGROUP}>;

@compute @workgroup_size(${ROW_WORKGROUP})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>, @builtin(local_invocation_index) lid : u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.rows) { return; }
  let base = row * u.cols;
  var s = 0.0;
  for (var c = lid; c < u.cols; c += ${ROW_WORKGROUP}u) { s += dy[base + c] * y[base + c]; }
  partial[lid] = s;
  workgroupBarrier();
  for (var stride = ${ROW_WORKGROUP / 2}u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  let dot = partial[0];
  for (var c = lid; c < u.cols; c += ${ROW_WORKGROUP}u) { dx[base + c] = y[base + c] * (dy[base + c] - dot); }
}
`
}

tf.registerKernel({
  kernelName: 'MixtureSoftmaxGrad',
  backendName: 'webgpu',
  kernelFunc: ({inputs, backend}) => {
    const b = backend as unknown as WebgpuBackendInternals
    const {dy, y} = inputs as Record<string, tf.TensorInfo>
    float32('MixtureSoftmaxGrad', dy, y)
    sameShape('MixtureSoftmaxGrad', dy, y)
    if (y.shape.length === 0) throw new Error('MixtureSoftmaxGrad needs at least one axis')
    const cols = y.shape[y.shape.length - 1]
    const rows = tf.util.sizeFromShape(y.shape) / cols
    // One workgroup per row; the row index folds into 2-D past the per-dimension limit.
    return runKernel(b, {
      name: 'MixtureSoftmaxGrad',
      key: 'softmax-grad',
      wgsl: softmaxGradWgsl,
      workgroups: flatWorkgroups(b, rows, 1),
      inputs: [dy, y],
      outputs: [{shape: y.shape}],
      uniforms: [{type: 'uint32', data: [rows]}, {type: 'uint32', data: [cols]}],
    })[0]
  },
})
