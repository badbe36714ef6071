/** The tiny synthetic experiment the fault tests train: a second or two per run on the cpu backend. */
export function TINY_SPEC(epochs: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'tiny',
    seed: 5,
    data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 32, test: 16, classes: 3}},
    model: {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]},
    train: {epochs, batch_size: 16, optimizer: {lr: 0.01}},
    ...extra,
  }
}
