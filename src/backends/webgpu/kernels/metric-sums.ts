/**
 * The running metric sums updated in place (ops/metric-sums.ts): one dispatch adds a batch's mean loss
 * (times the batch), its top-1 count and its accuracy into [Σ loss·batch, Σ correct, Σ correct/batch],
 * one zeroes them. The sums
 * tensor keeps its buffer from step to step, so that a recorded training step can be replayed
 * (../graph.ts); the composite made a new tensor every batch (2 dispatches).
 */
import {tf} from '../../../engine/tf.js'
import {METRIC_SUMS, type InPlaceMetrics} from '../../../ops/metric-sums.js'
import {bindingsWgsl, dispatchOn, ownsData, type WebgpuBackendInternals} from '../runner.js'

function accumulateWgsl(): string {
  return /* wgsl */ `
struct Params {
  batch : f32,
};
${bindingsWgsl(['sums'], ['loss', 'correct'])}

@compute @workgroup_size(1)
fn main() {
  sums[0] = sums[0] + loss[0] * u.batch;
  sums[1] = sums[1] + correct[0];
  sums[2] = sums[2] + correct[0] / u.batch;
}
`
}

function zeroWgsl(): string {
  return /* wgsl */ `
struct Params {
  size : u32,
};
${bindingsWgsl(['sums'], [])}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid : vec3<u32>) {
  if (gid.x < u.size) { sums[gid.x] = 0.0; }
}
`
}

function backend(): WebgpuBackendInternals {
  return tf.backend() as unknown as WebgpuBackendInternals
}

/** Whether `sums` may be written in place: float32 [METRIC_SUMS], its data its own. */
function writable(b: WebgpuBackendInternals, sums: tf.Tensor): boolean {
  return sums.size === METRIC_SUMS && ownsData(b, sums)
}

export const inPlaceMetricSums: InPlaceMetrics = {
  accumulate(sums, loss, correct, batch) {
    const b = backend()
    if (!writable(b, sums) || loss.dtype !== 'float32' || correct.dtype !== 'float32') return false
    dispatchOn(b, {name: 'MixtureMetricSums', key: 'metric-sums', wgsl: accumulateWgsl, workgroups: [1], uniforms: [{type: 'float32', data: [batch]}]}, [sums, loss, correct], 1)
    return true
  },
  zero(sums) {
    const b = backend()
    if (!writable(b, sums)) return false
    dispatchOn(b, {name: 'MixtureMetricZero', key: 'metric-zero', wgsl: zeroWgsl, workgroups: [1], uniforms: [{type: 'uint32', data: [sums.size]}]}, [sums], 1)
    return true
  },
}
