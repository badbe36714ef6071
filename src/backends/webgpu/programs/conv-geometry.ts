/**
 * WGSL helpers for the kernels that read a convolution's input through its patches (implicit
 * im2col, NHWC): the uniform fields that place the patches and the digit arithmetic that walks
 * them. Shared by the product kernel's convolution modes (gemm.ts), the narrow convolution
 * (narrow-conv.ts) and the filter-gradient kernels (../kernels/conv-backprop-filter.ts).
 */
import type {tf} from '../../../engine/tf.js'
import type {UniformField} from '../internals.js'

/** The uniform fields that place a convolution's patches (a struct's tail; `convGeometryUniforms` fills them). */
export const CONV_GEOMETRY_WGSL = `  inH : u32,
  inW : u32,
  inC : u32,
  outH : u32,
  outW : u32,
  filterW : u32,
  strideH : i32,
  strideW : i32,
  padT : i32,
  padL : i32,`

export function convGeometryUniforms(info: tf.backend_util.Conv2DInfo): UniformField[] {
  return [
    ...[info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.filterWidth].map((v) => ({type: 'uint32' as const, data: [v]})),
    ...[info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left].map((v) => ({type: 'int32' as const, data: [v]})),
  ]
}

/**
 * The NHWC extents of an input read as if (d − 1) zeros stood between its rows (d = dh) and its
 * columns (d = dw): the geometry a kernel with an input dilation is given (its uniforms' inH and inW).
 */
export function dilatedExtents(shape: readonly number[], [dh, dw]: [number, number]): [number, number, number, number] {
  const [b, h, w, c] = shape
  return [b, (h - 1) * dh + 1, (w - 1) * dw + 1, c]
}

/** Whether an input dilation [dh, dw] puts zeros between rows or columns (else the plain input). */
export function isDilated([dh, dw]: readonly number[]): boolean {
  return dh > 1 || dw > 1
}

/**
 * WGSL declaring (lo, mid, hi) as the digits of \`value\` with radices (loRadix, midRadix, unbounded):
 * an im2col index split into (ow, oh, batch) or (ci, fw, fh).
 */
export function digitsWgsl(decl: 'let' | 'var', [lo, mid, hi]: string[], value: string, loRadix: string, midRadix: string): string {
  return `${decl} ${lo} = (${value}) % ${loRadix};
  ${decl} ${mid} = ((${value}) / ${loRadix}) % ${midRadix};
  ${decl} ${hi} = (${value}) / ${loRadix} / ${midRadix};`
}

/** WGSL adding \`step\` to the digits (lo, mid, hi) of \`digitsWgsl\`, carrying without divisions. */
export function advanceDigitsWgsl([lo, mid, hi]: string[], step: string, loRadix: string, midRadix: string): string {
  return `${lo} = ${lo} + ${step};
    while (${lo} >= ${loRadix}) {
      ${lo} = ${lo} - ${loRadix};
      ${mid} = ${mid} + 1u;
      if (${mid} == ${midRadix}) { ${mid} = 0u; ${hi} = ${hi} + 1u; }
    }`
}
