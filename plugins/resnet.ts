/**
 * ResNet-18, torchvision's ImageNet structure unchanged (arXiv:1512.03385): 7×7/2 stem + BN + ReLU +
 * 3×3/2 max-pool, four stages of two basic blocks (64, 128, 256, 512; 1×1 conv + BN projection
 * shortcuts), global average pool, Linear(512, num_outputs). The paper kept the 1000-way ImageNet head
 * and trained it with cross-entropy on labels 0..9 / 0..99, hence 11,689,512 parameters everywhere.
 * Initialisation (`init: torch`) as torchvision's init loop: convs N(0, 2/(k·k·c_out)), BatchNorm 1/0,
 * the final Linear PyTorch's default.
 *
 * `stem: cifar` replaces the stem by the one most CIFAR ResNet-18 results use (kuangliu's
 * pytorch-cifar): a 3×3 stride-1 convolution + BN + ReLU and no max-pool, so a 32×32 image stays
 * 32×32 into layer1 (the ImageNet stem leaves 8×8). Its PyTorch twin is torchvision's model with
 * `conv1` replaced and `maxpool` an identity (bench/torch/models.py `resnet18_cifar`), initialised
 * by the same init loop. Absent, the stem is torchvision's (the paper's rows).
 */
import {nullableInteger, registerModel, Type, withDefault, type BuildContext, type Resolved, type SymbolicTensor} from '../src/api.js'

const schema = Type.Object(
  {
    layers: withDefault(Type.Array(Type.Integer({minimum: 1, maximum: 1000}), {minItems: 1}), [2, 2, 2, 2]),
    widths: withDefault(Type.Array(Type.Integer({minimum: 1, maximum: 16384}), {minItems: 1}), [64, 128, 256, 512]),
    num_outputs: withDefault(nullableInteger({minimum: 1, maximum: 1_000_000, description: 'final Linear size; null = number of classes'}), 1000),
    // No default: a spec without it resolves as before (and keeps its config hash).
    stem: Type.Optional(Type.Union([Type.Literal('imagenet'), Type.Literal('cifar')], {description: "imagenet (torchvision's 7×7/2 conv + max-pool, the default) or cifar (3×3/1 conv, no max-pool)"})),
  },
  {additionalProperties: false},
)

/** `num_outputs`: size of the final Linear; `null` means the dataset's number of classes. */
export type ResnetParams = Resolved<typeof schema>

/** torchvision's `ResNet.__init__` re-initialises every conv: kaiming_normal_(mode='fan_out', nonlinearity='relu'). */
function conv(ctx: BuildContext, x: SymbolicTensor, local: string, cin: number, cout: number, k: number, stride: number): SymbolicTensor {
  return ctx.conv2d(x, local, cin, cout, k, {stride, padding: (k - 1) / 2, bias: false, init: 'kaiming_normal_fan_out'})
}

function basicBlock(ctx: BuildContext, x: SymbolicTensor, cin: number, cout: number, stride: number): SymbolicTensor {
  const {tfl} = ctx
  let y = conv(ctx, x, 'conv1', cin, cout, 3, stride)
  y = ctx.apply(ctx.batchNorm('bn1'), y)
  y = tfl.layers.reLU({name: ctx.name('relu1')}).apply(y) as SymbolicTensor
  y = conv(ctx, y, 'conv2', cout, cout, 3, 1)
  y = ctx.apply(ctx.batchNorm('bn2'), y)
  let shortcut = x
  if (stride !== 1 || cin !== cout) {
    shortcut = conv(ctx, x, 'downsample_conv', cin, cout, 1, stride)
    shortcut = ctx.apply(ctx.batchNorm('downsample_bn'), shortcut)
  }
  y = tfl.layers.add({name: ctx.name('add')}).apply([y, shortcut]) as SymbolicTensor
  return tfl.layers.reLU({name: ctx.name('relu2')}).apply(y) as SymbolicTensor
}

registerModel<ResnetParams>({
  name: 'resnet18',
  summary: 'torchvision ResNet-18 (ImageNet structure, 1000-way head kept as in the paper).',
  paper: 'arXiv:1512.03385',
  schema,
  presets: {paper: {layers: [2, 2, 2, 2], widths: [64, 128, 256, 512], num_outputs: 1000}, cifar: {num_outputs: null}},
  tiny: {layers: [1, 1], widths: [4, 8], num_outputs: null},
  create: (ctx, image, p, numClasses) => {
    const {tfl} = ctx
    if (p.layers.length !== p.widths.length) throw new Error(`resnet18: layers (${p.layers.length}) and widths (${p.widths.length}) must have the same length`)
    const stem = ctx.scope('stem')
    const cifar = p.stem === 'cifar'
    let x = conv(stem, image, 'conv1', image.shape[3] as number, p.widths[0], cifar ? 3 : 7, cifar ? 1 : 2)
    x = stem.apply(stem.batchNorm('bn1'), x)
    x = tfl.layers.reLU({name: stem.name('relu')}).apply(x) as SymbolicTensor
    if (!cifar) {
      // PyTorch pads max-pool with -inf; after ReLU the inputs are ≥ 0, so zero padding is identical.
      x = tfl.layers.zeroPadding2d({name: stem.name('pool_pad'), padding: 1}).apply(x) as SymbolicTensor
      x = tfl.layers.maxPooling2d({name: stem.name('maxpool'), poolSize: 3, strides: 2, padding: 'valid'}).apply(x) as SymbolicTensor
    }
    let cin = p.widths[0]
    p.layers.forEach((blocks, stage) => {
      for (let b = 0; b < blocks; b++) {
        const stride = stage > 0 && b === 0 ? 2 : 1
        x = basicBlock(ctx.scope(`layer${stage + 1}_${b}`), x, cin, p.widths[stage], stride)
        cin = p.widths[stage]
      }
    })
    const head = ctx.scope('head')
    x = tfl.layers.globalAveragePooling2d({name: head.name('avgpool')}).apply(x) as SymbolicTensor
    return head.apply(head.dense('fc', cin, p.num_outputs ?? numClasses), x)
  },
})
