/**
 * Float32 values rounded to the nearest float16 (ties to even; past ±65504 to ±∞, as a float16
 * overflows; below 2⁻¹⁴ to float16's subnormal steps of 2⁻²⁴; NaN and ±∞ kept) and kept as float32:
 * exactly `x.half().float()` in PyTorch. engine.precision mixed16 (../precision.ts) puts the operands
 * and the results of every product and convolution through it, which is what autocast(float16) does
 * to them: the project's product kernels as they load and store (`roundingWgsl`), tfjs's programs by
 * a pass before and after (`halfRound`). Integer arithmetic on the bits, so that the rounding is the
 * same on every adapter (WGSL leaves the rounding of an f32 → f16 conversion to the implementation).
 */
import {tf} from '../../../engine/tf.js'
import {bindingsWgsl, flatIndexWgsl, flatWorkgroups, runKernel, type WebgpuBackendInternals} from '../runner.js'

const WORKGROUP = 256

/** WGSL `toHalf(x)`: x rounded to float16, as a float32. */
const HALF_ROUND_WGSL = /* wgsl */ `
fn toHalf(x : f32) -> f32 {
  let bits = bitcast<u32>(x);
  let sign = bits & 0x80000000u;
  let a = bits & 0x7fffffffu;
  if (a >= 0x7f800000u) { return x; }
  // 65520 = 65504 + half a step: it and everything above round to infinity.
  if (a >= 0x477ff000u) { return bitcast<f32>(sign | 0x7f800000u); }
  if (a < 0x38800000u) {
    // Under 2^-14, float16 is subnormal: multiples of 2^-24 (round() is ties-to-even in WGSL).
    let steps = round(bitcast<f32>(a) * 16777216.0);
    return bitcast<f32>(sign | bitcast<u32>(steps * 5.9604644775390625e-8));
  }
  // Normal: keep 10 of the 23 mantissa bits, ties to even.
  let odd = (a >> 13u) & 1u;
  return bitcast<f32>(sign | ((a + 0xfffu + odd) & 0xffffe000u));
}`

/**
 * WGSL a product kernel rounds with: `roundOperand(v)` and `roundOperand4(v)` for an operand's
 * values as they are loaded, `roundResult(v)` and `roundResult4(v)` for the output's as they are
 * written — each `v` itself where its flag is false, `toHalf(v)` (element-wise) where it is true.
 */
export function roundingWgsl({operands, result}: {operands: boolean; result: boolean}): string {
  const fns = (name: string, round: boolean): string => `
fn ${name}(v : f32) -> f32 { return ${round ? 'toHalf(v)' : 'v'}; }
fn ${name}4(v : vec4<f32>) -> vec4<f32> { return ${round ? 'vec4<f32>(toHalf(v.x), toHalf(v.y), toHalf(v.z), toHalf(v.w))' : 'v'}; }`
  return `${operands || result ? HALF_ROUND_WGSL : ''}${fns('roundOperand', operands)}${fns('roundResult', result)}`
}

/** `x` rounded to float16 values, a new float32 tensor of its shape (owned by the caller). */
export function halfRound(backend: WebgpuBackendInternals, x: tf.TensorInfo): tf.TensorInfo {
  const n = tf.util.sizeFromShape(x.shape)
  return runKernel(backend, {
    name: 'MixtureHalfRound',
    key: 'half-round',
    wgsl: () => /* wgsl */ `
struct Params { size : u32, };
${bindingsWgsl(['y'], ['x'])}
${HALF_ROUND_WGSL}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  ${flatIndexWgsl(WORKGROUP)}
  if (index >= u.size) { return; }
  y[index] = toHalf(x[index]);
}
`,
    workgroups: flatWorkgroups(backend, n, WORKGROUP),
    inputs: [x],
    outputs: [{shape: x.shape}],
    uniforms: [{type: 'uint32', data: [n]}],
  })[0]
}
