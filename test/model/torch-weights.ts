/** Our tfjs weights in PyTorch's vocabulary: the kind of module tensor each one is, and its PyTorch shape. */

/** The PyTorch kind (`linear.weight`, `conv2d.bias`, …) of weight `weightName` of a layer of class `layerClass`. */
export function kindOf(layerClass: string, weightName: string): string {
  const w = weightName.split('/').pop()!.replace(/_\d+$/, '')
  const table: Record<string, Record<string, string>> = {
    Dense: {kernel: 'linear.weight', bias: 'linear.bias'},
    Conv2D: {kernel: 'conv2d.weight', bias: 'conv2d.bias'},
    Conv2DTranspose: {kernel: 'conv_transpose2d.weight', bias: 'conv_transpose2d.bias'},
    MixtureBatchNorm: {gamma: 'batchnorm2d.weight', beta: 'batchnorm2d.bias', moving_mean: 'batchnorm2d.running_mean', moving_variance: 'batchnorm2d.running_var'},
    MixtureLayerNorm: {gamma: 'layernorm.weight', beta: 'layernorm.bias'},
  }
  return table[layerClass]?.[w] ?? 'parameter'
}

/**
 * The PyTorch shape of a tfjs weight: Dense kernels (in, out) → (out, in); conv kernels
 * (kh, kw, in, out) → (out, in, kh, kw); conv-transpose kernels (kh, kw, out, in) → (in, out, kh, kw)
 * (the same permutation); everything else as it is.
 */
export function torchShape(kind: string, shape: readonly number[]): number[] {
  if (kind === 'linear.weight') return [shape[1], shape[0]]
  if (kind === 'conv2d.weight' || kind === 'conv_transpose2d.weight') return [shape[3], shape[2], shape[0], shape[1]]
  return [...shape]
}
