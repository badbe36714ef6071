/**
 * The in-place store on WebGPU (ops/store.ts): one dispatch copies a float32 value into a variable's
 * own buffer, so that the variable keeps its data from step to step (a recorded step that writes it
 * can be replayed, ../graph.ts).
 */
import {tf} from '../../../engine/tf.js'
import type {InPlaceStore} from '../../../ops/store.js'
import {bindingsWgsl, dispatchOn, flatIndexWgsl, flatWorkgroups, ownsData, type WebgpuBackendInternals} from '../runner.js'

const WORKGROUP = 256

function storeWgsl(): string {
  return /* wgsl */ `
struct Params { size : u32, };
${bindingsWgsl(['stored'], ['value'])}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  ${flatIndexWgsl(WORKGROUP)}
  if (index >= u.size) { return; }
  stored[index] = value[index];
}
`
}

export const inPlaceStore: InPlaceStore = (target, value) => {
  const b = tf.backend() as unknown as WebgpuBackendInternals
  if (value.dtype !== 'float32' || target.size === 0 || target.dataId === value.dataId || !ownsData(b, target)) return false
  dispatchOn(b, {name: 'MixtureStore', key: 'store', wgsl: storeWgsl, workgroups: flatWorkgroups(b, target.size, WORKGROUP), uniforms: [{type: 'uint32', data: [target.size]}]}, [target, value], 1)
  return true
}
