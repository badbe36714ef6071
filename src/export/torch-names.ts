/**
 * PyTorch `state_dict` names for the paper's architectures: the names of the original code's modules
 * (late-2021 vit-pytorch, perceiver-pytorch 0.7, torchvision's ResNet-18, and the mixture models
 * built from them), as `bench/torch/models.py` rebuilds them, and the class there with the
 * arguments that build the same model. A spec whose model has no such class (another component,
 * head or norm, a plugin's) gets `undefined` and a reason: its weights are then exported under the
 * project's own names.
 *
 * Each rule maps one of our layer names (made by the builders in plugins/*.ts, e.g.
 * `block1_vit_layer1_attn_to_qkv`) to the PyTorch module that holds its weights
 * (`MM.0.vision_transformer.2.layers.0.0.fn.to_qkv`).
 */
import type {ResolvedSpec} from '../schema/spec.js'

export interface TorchLayout {
  /** The class (or function) in bench/torch/models.py, or a dotted torchvision path. */
  builder: string
  kwargs: Record<string, unknown>
  /** The PyTorch module path of one of our layers ('' for the model itself), or undefined when there is none. */
  module(layer: string): string | undefined
}

type Part = Record<string, unknown> & {type: string}
type Rule = [RegExp, (m: RegExpMatchArray) => string]

const dec = (s: string) => Number(s) - 1

function apply(rules: Rule[], name: string): string | undefined {
  for (const [re, to] of rules) {
    const m = name.match(re)
    if (m) return to(m)
  }
  return undefined
}

/** The residual CNN stack (`cnn_stack`: Sequential of ResidualCNNBlock). */
function cnnRules(ours: string, torch: string): Rule[] {
  const unit: Record<string, string> = {conv: 'block.0', bn: 'block.1', shortcut: 'identity'}
  return [[new RegExp(`^${ours}_unit(\\d+)_(conv|bn|shortcut)$`), (m) => `${torch}.${dec(m[1])}.${unit[m[2]]}`]]
}

/** vit-pytorch's Transformer: layers.i.0 = PreNorm(Attention), layers.i.1 = PreNorm(FeedForward). */
function transformerRules(ours: string, torch: string): Rule[] {
  const inner: Record<string, string> = {attn_norm: '0.norm', attn_to_qkv: '0.fn.to_qkv', attn_to_out: '0.fn.to_out.0', ff_norm: '1.norm', ff_fc1: '1.fn.net.0', ff_fc2: '1.fn.net.3'}
  return [[new RegExp(`^${ours}_layer(\\d+)_(attn_norm|attn_to_qkv|attn_to_out|ff_norm|ff_fc1|ff_fc2)$`), (m) => `${torch}.layers.${dec(m[1])}.${inner[m[2]]}`]]
}

/** The ViT token mixer of a mixture block: Sequential(to_patch_embedding, dropout, transformer, to_latent). */
function vitMixerRules(ours: string, torch: string): Rule[] {
  return [[new RegExp(`^${ours}_to_patch_embedding$`), () => `${torch}.0.1`], ...transformerRules(ours, `${torch}.2`)]
}

/** The token-to-image adapter: Sequential(ConvTranspose2d, BatchNorm2d). */
function adapterRules(ours: string, torch: string): Rule[] {
  return [[new RegExp(`^${ours}_(conv_transpose|bn)$`), (m) => `${torch}.${m[1] === 'bn' ? 1 : 0}`]]
}

/** perceiver-pytorch 0.7's Perceiver: latents, layers.i = [cross attn, cross ff, [self attn, self ff] × k], to_logits. */
function perceiverRules(ours: string, torch: string): Rule[] {
  const at = (p: string) => (torch ? `${torch}.${p}` : p)
  const attn: Record<string, string> = {norm: 'norm', norm_context: 'norm_context', to_q: 'fn.to_q', to_kv: 'fn.to_kv', to_out: 'fn.to_out.0'}
  const ff: Record<string, string> = {norm: 'norm', fc1: 'fn.net.0', fc2: 'fn.net.3'}
  return [
    [new RegExp(`^${ours}_latents$`), () => torch],
    [new RegExp(`^${ours}_layer(\\d+)_cross_attn_(norm_context|norm|to_q|to_kv|to_out)$`), (m) => at(`layers.${dec(m[1])}.0.${attn[m[2]]}`)],
    [new RegExp(`^${ours}_layer(\\d+)_cross_ff_(norm|fc1|fc2)$`), (m) => at(`layers.${dec(m[1])}.1.${ff[m[2]]}`)],
    [new RegExp(`^${ours}_layer(\\d+)_self_attn(\\d+)_(norm|to_q|to_kv|to_out)$`), (m) => at(`layers.${dec(m[1])}.2.${dec(m[2])}.0.${attn[m[3]]}`)],
    [new RegExp(`^${ours}_layer(\\d+)_self_ff(\\d+)_(norm|fc1|fc2)$`), (m) => at(`layers.${dec(m[1])}.2.${dec(m[2])}.1.${ff[m[3]]}`)],
    [new RegExp(`^${ours}_head_(norm|fc)$`), (m) => at(`to_logits.${m[1] === 'norm' ? 1 : 2}`)],
  ]
}

const layout = (builder: string, kwargs: Record<string, unknown>, rules: Rule[]): TorchLayout => ({builder, kwargs, module: (layer) => apply(rules, layer)})

/** Why a CNN stack's options have no counterpart in `cnn_stack`, or undefined. */
function cnnMismatch(p: Part): string | undefined {
  if (p.residual !== true) return 'the CNN stack has no residual shortcuts (residual: false)'
  if (p.kernel_size !== 3) return `the CNN stack uses ${p.kernel_size}×${p.kernel_size} kernels (the original's are 3×3)`
  if (p.in_channels !== 3) return `the CNN stack reads ${p.in_channels} channels (the original's reads 3)`
  return undefined
}

/** vit-pytorch drops the output projection when heads = 1 and dim_head = dim; our models always have it. */
function vitMismatch(p: Part): string | undefined {
  return p.heads === 1 && p.dim_head === p.dim ? 'a ViT with heads 1 and dim_head = dim has no to_out projection in vit-pytorch, and ours does' : undefined
}

function perceiverMismatch(p: Part): string | undefined {
  if (p.ff_mult !== 4) return `the Perceiver's feed-forward widens ${p.ff_mult}× (perceiver-pytorch's 4×)`
  return undefined
}

const cnnChannels = (p: Part) => [3, ...(p.channels as number[])]

const vitKwargs = (p: Part) => ({patch_size: p.patch_size, depth: p.depth, att_heads: p.heads, dim_head: p.dim_head, mlp_dim: p.mlp_dim, output_dim: p.dim, dropout: p.dropout, emb_dropout: p.emb_dropout})

const perceiverKwargs = (p: Part) => ({
  num_freq_bands: p.num_freq_bands,
  max_freq: p.max_freq,
  depth: p.depth,
  num_latents: p.num_latents,
  latent_dim: p.latent_dim,
  cross_heads: p.cross_heads,
  latent_heads: p.latent_heads,
  cross_dim_head: p.cross_dim_head,
  latent_dim_head: p.latent_dim_head,
  self_per_cross_attn: p.self_per_cross_attn,
  attn_dropout: p.attn_dropout,
  ff_dropout: p.ff_dropout,
})

function mixtureLayout(m: Part, size: number, outputs: number): TorchLayout | string {
  const components = m.components as Part[]
  const kinds = components.map((c) => c.type).join('+')
  if (kinds !== 'cnn+vit' && kinds !== 'cnn+perceiver') return `its components are ${kinds} (the original models pair cnn with vit or perceiver, in that order)`
  const [cnn, other] = components
  const head = m.head as Part
  if (head.type !== 'linear') return `its head is ${head.type} (the original's is linear)`
  const why = cnnMismatch(cnn) ?? (other.type === 'vit' ? vitMismatch(other) : perceiverMismatch(other))
  if (why) return why
  const blocks = m.num_blocks as number
  const norm = m.norm as Part
  const sharedBn = norm.type === 'batchnorm' && (norm.share ?? 'model') === 'model'
  if (other.type === 'vit') {
    const adapter = m.adapter as Part
    if (adapter.type !== 'token_image' || adapter.kernel_size !== 3 || adapter.out_channels !== 3 || adapter.batch_norm !== true) return 'its token adapter differs from the original ConvTranspose2d(k3) + BatchNorm2d(3)'
    const kwargs = {num_blocks: blocks, image_size: size, num_labels: outputs, ...vitKwargs(other), cnn_channels: cnnChannels(cnn)}
    if (m.block === 'alternating') {
      return layout('ResAlternatingMixtureModel', kwargs, [
        [/^block(\d+)_cnn_(.*)$/, (x) => apply(cnnRules(`block${x[1]}_cnn`, `MM.${dec(x[1])}.conv_net`), x[0])!],
        [/^block(\d+)_vit_adapter_(.*)$/, (x) => apply(adapterRules(`block${x[1]}_vit_adapter`, `MM.${dec(x[1])}.upsample_vit`), x[0])!],
        [/^block(\d+)_vit_(.*)$/, (x) => apply(vitMixerRules(`block${x[1]}_vit`, `MM.${dec(x[1])}.vision_transformer`), x[0])!],
        [/^head_fc$/, () => 'ffn'],
      ])
    }
    if (m.block === 'joint' && (norm.type === 'none' || sharedBn)) {
      const s = (b: string) => (blocks === 1 ? '' : b)
      return layout('JointMixtureModel', {...kwargs, norm: norm.type === 'none' ? 'none' : 'shared_bn'}, [
        [/^block(\d+)_cnn_(.*)$/, (x) => apply(cnnRules(`block${x[1]}_cnn`, `conv_net${s(x[1])}`), x[0])!],
        [/^block(\d+)_vit_adapter_(.*)$/, (x) => apply(adapterRules(`block${x[1]}_vit_adapter`, `upsample_vit${s(x[1])}`), x[0])!],
        [/^block(\d+)_vit_(.*)$/, (x) => apply(vitMixerRules(`block${x[1]}_vit`, `vit${s(x[1])}`), x[0])!],
        [/^norm_bn$/, () => 'norm'],
        [/^head_fc$/, () => 'ffn'],
      ])
    }
    return `its ${m.block} block with norm ${norm.type}${norm.share ? ` (share: ${norm.share})` : ''} has no counterpart (the original ViT joint model adds the branches raw, or with one shared BatchNorm2d)`
  }
  if (other.cross_dim_head !== other.latent_dim_head) return 'its Perceiver has cross_dim_head ≠ latent_dim_head (the original mixture models use one dim_head)'
  const p = other
  const kwargs = {
    num_blocks: blocks,
    image_size: size,
    num_labels: outputs,
    depth: p.depth,
    att_heads: p.cross_heads,
    cnn_channels: cnnChannels(cnn),
    num_latents: p.num_latents,
    latent_dim: p.latent_dim,
    latent_heads: p.latent_heads,
    dim_head: p.cross_dim_head,
    self_per_cross_attn: p.self_per_cross_attn,
    num_freq_bands: p.num_freq_bands,
    max_freq: p.max_freq,
    dropout: p.attn_dropout,
  }
  if (m.block === 'alternating') {
    return layout('PerceiverAltMM', kwargs, [
      [/^block(\d+)_cnn_(.*)$/, (x) => apply(cnnRules(`block${x[1]}_cnn`, `MM.${dec(x[1])}.conv_net`), x[0])!],
      [/^block(\d+)_perceiver_(.*)$/, (x) => apply(perceiverRules(`block${x[1]}_perceiver`, `MM.${dec(x[1])}.perceiver`), x[0])!],
      [/^head_fc$/, () => 'ffn'],
    ])
  }
  if (m.block === 'joint' && sharedBn) {
    const s = (b: string) => (b === '1' ? '' : b)
    return layout('JointPerceiverMM', kwargs, [
      [/^block(\d+)_cnn_(.*)$/, (x) => apply(cnnRules(`block${x[1]}_cnn`, `conv_net${s(x[1])}`), x[0])!],
      [/^block(\d+)_perceiver_(.*)$/, (x) => apply(perceiverRules(`block${x[1]}_perceiver`, `perceiver${s(x[1])}`), x[0])!],
      [/^norm_bn$/, () => 'norm'],
      [/^head_fc$/, () => 'ffn'],
    ])
  }
  return `its ${m.block} block with norm ${norm.type} has no counterpart (the original Perceiver joint model normalises every branch with one shared BatchNorm2d)`
}

/** The PyTorch class and names for the run's model, or the reason there is none. */
export function torchLayout(spec: Pick<ResolvedSpec, 'data' | 'model'>, outputs: number): TorchLayout | string {
  const m = spec.model as unknown as Part
  const size = spec.data.image_size
  switch (m.type) {
    case 'mixture':
      return mixtureLayout(m, size, outputs)
    case 'vit_classifier':
      return (
        vitMismatch(m) ??
        layout('ViT', {image_size: size, patch_size: m.patch_size, num_classes: outputs, dim: m.dim, depth: m.depth, heads: m.heads, mlp_dim: m.mlp_dim, dim_head: m.dim_head, dropout: m.dropout, emb_dropout: m.emb_dropout}, [
          [/^vit_to_patch_embedding$/, () => 'to_patch_embedding.1'],
          [/^vit_cls_pos$/, () => ''],
          ...transformerRules('vit', 'transformer'),
          [/^head_(norm|fc)$/, (x) => `mlp_head.${x[1] === 'norm' ? 0 : 1}`],
        ])
      )
    case 'perceiver_classifier':
      return perceiverMismatch(m) ?? layout('ImagePerceiver', {input_channels: 3, input_axis: 2, num_classes: outputs, ...perceiverKwargs(m)}, perceiverRules('perceiver', ''))
    case 'cnn_classifier':
      return cnnMismatch(m) ?? layout('ConvNet', {image_size: size, num_labels: outputs, cnn_channels: cnnChannels(m)}, [...cnnRules('cnn', 'conv_net'), [/^head_fc$/, () => 'ffn']])
    case 'resnet18': {
      if (String(m.layers) !== '2,2,2,2' || String(m.widths) !== '64,128,256,512') return `its ResNet has layers [${m.layers}] and widths [${m.widths}] (torchvision's ResNet-18: [2, 2, 2, 2] and [64, 128, 256, 512])`
      const block: Record<string, string> = {conv1: 'conv1', bn1: 'bn1', conv2: 'conv2', bn2: 'bn2', downsample_conv: 'downsample.0', downsample_bn: 'downsample.1'}
      // The CIFAR stem's twin: torchvision's model with conv1 3×3/1 and no max-pool (same names).
      return layout(m.stem === 'cifar' ? 'resnet18_cifar' : 'torchvision.models.resnet18', {num_classes: outputs}, [
        [/^stem_(conv1|bn1)$/, (x) => x[1]],
        [/^layer(\d+)_(\d+)_(conv1|bn1|conv2|bn2|downsample_conv|downsample_bn)$/, (x) => `layer${x[1]}.${x[2]}.${block[x[3]]}`],
        [/^head_fc$/, () => 'fc'],
      ])
    }
    default:
      return `its model type ${m.type} is not one of the paper's architectures`
  }
}
