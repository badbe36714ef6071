/** `MixtureSoftmaxGrad` on WebGPU (ops/softmax.ts): y·(dy − Σ dy·y) over the last axis, one workgroup per row. */
import {tf} from '../../../engine/tf.js'
import {SOFTMAX_GRAD_KERNEL} from '../../../ops/softmax.js'
import {float32, sameShape} from '../programs/elementwise.js'
import {bindingsWgsl, flatWorkgroups, runKernel, type WebgpuBackendInternals} from '../runner.js'

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

export const softmaxGradConfig: tf.KernelConfig = {
  kernelName: SOFTMAX_GRAD_KERNEL,
  backendName: 'webgpu',
  kernelFunc: ({inputs, backend}) => {
    const b = backend as unknown as WebgpuBackendInternals
    const {dy, y} = inputs as Record<string, tf.TensorInfo>
    float32(SOFTMAX_GRAD_KERNEL, dy, y)
    sameShape(SOFTMAX_GRAD_KERNEL, dy, y)
    if (y.shape.length === 0) throw new Error(`${SOFTMAX_GRAD_KERNEL} needs at least one axis`)
    const cols = y.shape[y.shape.length - 1]
    const rows = tf.util.sizeFromShape(y.shape) / cols
    // One workgroup per row; the row index folds into 2-D past the per-dimension limit.
    return runKernel(b, {
      name: SOFTMAX_GRAD_KERNEL,
      key: 'softmax-grad',
      wgsl: softmaxGradWgsl,
      workgroups: flatWorkgroups(b, rows, 1),
      inputs: [dy, y],
      outputs: [{shape: y.shape}],
      uniforms: [{type: 'uint32', data: [rows]}, {type: 'uint32', data: [cols]}],
    })[0]
  },
}
