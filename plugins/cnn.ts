/**
 * The residual CNN stack of every mixture block (docs/paper.md: units 3→32→32→128→128→3, spatial size kept),
 * and the CNN-only classifier of the Perceiver table (CNN stack + Linear head).
 *
 * Unit (c_in → c_out): conv 3×3 (pad 1, bias) → BatchNorm; shortcut = identity when c_in = c_out,
 * else a 1×1 conv with bias (no BN); ReLU after the add.
 */
import {registerComponent, registerModel, Type, withDefault, type BuildContext, type Resolved, type SymbolicTensor} from '../src/api.js'
import {linearHead} from './heads.js'

const schema = Type.Object(
  {
    channels: withDefault(Type.Array(Type.Integer({minimum: 1, maximum: 16384}), {minItems: 1, description: 'output channels of each residual unit; the last must be 3 inside a mixture block'}), [32, 32, 128, 128, 3]),
    in_channels: withDefault(Type.Integer({minimum: 1, maximum: 16384}), 3),
    kernel_size: withDefault(Type.Integer({minimum: 1, enum: [1, 3, 5, 7]}), 3),
    /** Residual shortcuts (the paper's joint variant text says they were absent; the released code kept them). */
    residual: withDefault(Type.Boolean(), true),
  },
  {additionalProperties: false},
)

/** `channels`: output channels of each residual unit; the input has `in_channels`. */
export type CnnParams = Resolved<typeof schema>

export function cnnStack(ctx: BuildContext, input: SymbolicTensor, p: CnnParams): SymbolicTensor {
  const {tfl} = ctx
  const given = input.shape[3]
  if (given !== p.in_channels) throw new Error(`cnn: its input has ${given} channels but in_channels is ${p.in_channels}; set in_channels: ${given}`)
  let x = input
  let cin = p.in_channels
  p.channels.forEach((cout, i) => {
    const unit = ctx.scope(`unit${i + 1}`)
    let y = unit.conv2d(x, 'conv', cin, cout, p.kernel_size, {padding: (p.kernel_size - 1) / 2})
    y = unit.apply(unit.batchNorm('bn'), y)
    if (p.residual) {
      const shortcut = cin === cout ? x : unit.conv2d(x, 'shortcut', cin, cout, 1)
      y = tfl.layers.add({name: unit.name('add')}).apply([y, shortcut]) as SymbolicTensor
    }
    x = tfl.layers.reLU({name: unit.name('relu')}).apply(y) as SymbolicTensor
    cin = cout
  })
  return x
}

registerComponent<CnnParams>({
  name: 'cnn',
  summary: 'Residual CNN stack: 3×3 conv + BatchNorm units with 1×1 projection shortcuts, image in, image out.',
  paper: 'Maddela & Trowbridge, Mixture Models, §3.1',
  schema,
  presets: {paper: {channels: [32, 32, 128, 128, 3], residual: true}},
  tiny: {channels: [4, 3]},
  output: 'image',
  create: cnnStack,
})

registerModel<CnnParams>({
  name: 'cnn_classifier',
  summary: 'CNN-only baseline: the mixture CNN stack followed by the Linear head on the flattened image.',
  paper: 'Maddela & Trowbridge, Mixture Models, Fig. 3 ("CNN")',
  schema,
  presets: {paper: {channels: [32, 32, 128, 128, 3]}},
  tiny: {channels: [4, 3]},
  create: (ctx, input, p, numClasses) => linearHead(ctx.scope('head'), cnnStack(ctx.scope('cnn'), input, p), numClasses),
})
