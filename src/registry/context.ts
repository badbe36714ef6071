/**
 * What a component's `create()` gets: the tfjs namespaces, unique layer names, a deterministic seed
 * stream, and layer constructors that apply the spec's initialisation.
 *
 * `init: torch` is what the PyTorch module does, including a model's own init loop: Linear, Conv2d
 * and ConvTranspose2d weights and biases U(±1/√fan_in) (kaiming_uniform(a=√5)), LayerNorm and
 * BatchNorm weight 1 and bias 0, `torch.randn` parameters N(0, 1) (`normal()`), and where a model
 * re-initialises (torchvision's ResNet: every conv `kaiming_normal_(mode='fan_out',
 * nonlinearity='relu')`) the conv asks for that law (`init: 'kaiming_normal_fan_out'`).
 * `init: tfjs` gives tfjs-layers' own defaults (Glorot uniform / He normal, zero biases).
 * test/model/torch-init.test.ts compares every tensor of every paper model with PyTorch's draws.
 */
import {totalmem} from 'node:os'
import {tf, tfl} from '../engine/tf.js'
import type {SymbolicTensor} from '../engine/tf.js'
import {Conv2D} from '../layers/conv2d.js'
import {Dropout} from '../layers/dropout.js'
import {BatchNorm, LayerNorm} from '../layers/norm.js'

export type InitScheme = 'torch' | 'tfjs'

/**
 * A conv weight law other than the module default, as a model's own init loop sets it:
 * `kaiming_normal_fan_out` = `nn.init.kaiming_normal_(w, mode='fan_out', nonlinearity='relu')`,
 * N(0, 2 / (k·k·c_out)) (torchvision ResNet).
 */
export type ConvInit = 'default' | 'kaiming_normal_fan_out'

export interface ContextOptions {
  seed: number
  init: InitScheme
  /** The most bytes the model's weights may take (default: a quarter of the machine's memory; see BuildState.checkSize). */
  maxWeightBytes?: number
}

type Layer = tfl.layers.Layer

const gib = (n: number) => `${(n / 2 ** 30).toFixed(n < 2 ** 30 ? 3 : 1)} GiB`
type Initializer = ReturnType<typeof tfl.initializers.randomNormal>

/** Shared state of one model build: seeds, names, and which component owns which layer. */
class BuildState {
  private seedCounter = 0
  readonly usedNames = new Set<string>()
  /** layer name → owning component path (`block1.vit`). */
  readonly owner = new Map<string, string>()
  /** Instances shared by several call sites (e.g. one BatchNorm for every joint branch). */
  readonly shared = new Map<string, unknown>()

  /** Tensor bytes held before the build, so that the check below counts the model's own. */
  private readonly bytesBefore = tf.memory().numBytes

  constructor(readonly options: ContextOptions) {}

  /**
   * Refuse a model whose weights outgrow a quarter of the machine's memory (training also keeps
   * their gradients and the optimizer's moments), checked as each layer is named — before it is
   * built — so that an absurd spec (depth 1000 at width 4096) stops in a moment instead of
   * allocating until the machine runs out.
   */
  checkSize(layers: number): void {
    const bytes = this.weightBytes()
    if (bytes > this.limit) throw this.tooLarge(`its weights already take ${gib(bytes)} after ${layers} layers`)
  }

  /** Bytes of the weights built so far. */
  weightBytes(): number {
    return tf.memory().numBytes - this.bytesBefore
  }

  /**
   * Refuse, before building them, `count` more parts of `bytes` each (a model's repeated blocks, all
   * of one size) where they would outgrow the limit: the size known from the first part, the model
   * stops in a moment instead of filling a quarter of the memory with weights first.
   */
  checkRepeats(bytes: number, count: number, what: string): void {
    const total = this.weightBytes() + bytes * count
    if (total > this.limit) throw this.tooLarge(`its weights would take ${gib(total)}: ${what} takes ${gib(bytes)}`)
  }

  private get limit(): number {
    return this.options.maxWeightBytes ?? totalmem() / 4
  }

  private tooLarge(how: string): Error {
    return new Error(
      `${how}, more than the ${gib(this.limit)} allowed: a quarter of this machine's ${gib(totalmem())} of memory ` +
        '(training also keeps their gradients and the optimizer state); make the model smaller (depth, dim, mlp_dim, channels, num_blocks)',
    )
  }

  nextSeed(): number {
    // splitmix-style spreading so that consecutive seeds give unrelated streams
    this.seedCounter++
    let z = (this.options.seed * 0x9e3779b1 + this.seedCounter * 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad) >>> 0
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97) >>> 0
    return (z ^ (z >>> 15)) >>> 0
  }
}

export class BuildContext {
  readonly tf = tf
  readonly tfl = tfl

  private constructor(
    private readonly state: BuildState,
    /** Dotted path of the current scope, e.g. `block1.vit`. */
    readonly path: string,
  ) {}

  static root(options: ContextOptions): BuildContext {
    return new BuildContext(new BuildState(options), '')
  }

  get init(): InitScheme {
    return this.state.options.init
  }

  /** A child scope: layers created through it are named `<path>_<name>_…` and owned by `<path>.<name>`. */
  scope(name: string): BuildContext {
    return new BuildContext(this.state, this.path ? `${this.path}.${name}` : name)
  }

  /**
   * A unique tfjs layer name inside this scope. Every layer of a model is named here just before it
   * is built, so this is also where a build that has grown too large stops (BuildState.checkSize).
   */
  name(local: string): string {
    this.state.checkSize(this.state.usedNames.size)
    const base = [this.path.replace(/\./g, '_'), local].filter(Boolean).join('_')
    let candidate = base
    for (let i = 1; this.state.usedNames.has(candidate); i++) candidate = `${base}_${i}`
    this.state.usedNames.add(candidate)
    this.state.owner.set(candidate, this.path || local)
    return candidate
  }

  seed(): number {
    return this.state.nextSeed()
  }

  /** Bytes of the model's weights built so far. */
  weightBytes(): number {
    return this.state.weightBytes()
  }

  /** Refuse `count` more parts of `bytes` each where they would outgrow the size limit (BuildState.checkRepeats). */
  checkRepeats(bytes: number, count: number, what: string): void {
    this.state.checkRepeats(bytes, count, what)
  }

  /** Layer names and the component path that owns each (for the per-component parameter table). */
  owners(): ReadonlyMap<string, string> {
    return this.state.owner
  }

  /** Get or create an instance shared across the model under `key`. */
  shared<T>(key: string, make: () => T): T {
    if (!this.state.shared.has(key)) this.state.shared.set(key, make())
    return this.state.shared.get(key) as T
  }

  /** U(±bound) initializer (PyTorch's default for Linear/Conv weights and biases is bound = 1/√fan_in). */
  uniform(bound: number): Initializer {
    return tfl.initializers.randomUniform({minval: -bound, maxval: bound, seed: this.seed()})
  }

  /** N(0, std) initializer (PyTorch `torch.randn` parameters: positional embedding, CLS token, latents). */
  normal(std = 1): Initializer {
    return tfl.initializers.randomNormal({mean: 0, stddev: std, seed: this.seed()})
  }

  private weightInit(fanIn: number, glorot: 'glorotUniform' | 'heNormal' = 'glorotUniform') {
    if (this.init === 'torch') return {kernel: this.uniform(1 / Math.sqrt(fanIn)), bias: this.uniform(1 / Math.sqrt(fanIn))}
    return {kernel: tfl.initializers[glorot]({seed: this.seed()}), bias: tfl.initializers.zeros()}
  }

  /** Conv weight and bias laws: the module default, or the law a model's init loop sets. */
  private convInit(inChannels: number, filters: number, kernel: number, law: ConvInit) {
    const init = this.weightInit(inChannels * kernel * kernel, 'heNormal')
    if (law === 'kaiming_normal_fan_out' && this.init === 'torch') init.kernel = this.normal(Math.sqrt(2 / (filters * kernel * kernel)))
    return init
  }

  /** Linear layer (`nn.Linear(inFeatures, units, bias)`), applied on the last axis. */
  dense(local: string, inFeatures: number, units: number, opts: {bias?: boolean; activation?: string} = {}): Layer {
    const init = this.weightInit(inFeatures)
    return tfl.layers.dense({
      name: this.name(local),
      units,
      useBias: opts.bias ?? true,
      activation: opts.activation as never,
      kernelInitializer: init.kernel as never,
      biasInitializer: init.bias as never,
    })
  }

  /**
   * `nn.Conv2d(inChannels, filters, k, stride, padding)`; padding > 0 is an explicit zero pad + valid
   * conv, like PyTorch. `init` names the weight law where a model's init loop replaces the default.
   */
  conv2d(x: SymbolicTensor, local: string, inChannels: number, filters: number, kernel: number, opts: {stride?: number; padding?: number; bias?: boolean; init?: ConvInit} = {}): SymbolicTensor {
    const channels = x.shape[x.shape.length - 1]
    // inChannels sets the initialisation's fan-in (PyTorch's): it must be the input's, or the weights start at another scale.
    if (channels !== inChannels) throw new Error(`${[this.path, local].filter(Boolean).join('.')}: its input has ${channels} channels, not the ${inChannels} it was built for`)
    const padding = opts.padding ?? 0
    const stride = opts.stride ?? 1
    const init = this.convInit(inChannels, filters, kernel, opts.init ?? 'default')
    // stride 1 with padding (k-1)/2 is exactly 'same'; other cases pad explicitly (TF's 'same' pads asymmetrically).
    const same = stride === 1 && 2 * padding === kernel - 1
    const input = padding > 0 && !same ? (tfl.layers.zeroPadding2d({padding, name: this.name(`${local}_pad`)}).apply(x) as SymbolicTensor) : x
    return new Conv2D({
      name: this.name(local),
      filters,
      kernelSize: kernel,
      strides: stride,
      padding: same ? 'same' : 'valid',
      useBias: opts.bias ?? true,
      kernelInitializer: init.kernel as never,
      biasInitializer: init.bias as never,
    }).apply(input) as SymbolicTensor
  }

  /** `nn.ConvTranspose2d(inChannels, filters, k, stride 1, padding (k-1)/2)`; PyTorch's fan_in is filters·k·k here. */
  conv2dTransposeSame(x: SymbolicTensor, local: string, filters: number, kernel: number): SymbolicTensor {
    const init = this.weightInit(filters * kernel * kernel)
    return tfl.layers
      .conv2dTranspose({
        name: this.name(local),
        filters,
        kernelSize: kernel,
        strides: 1,
        padding: 'same',
        kernelInitializer: init.kernel as never,
        biasInitializer: init.bias as never,
      })
      .apply(x) as SymbolicTensor
  }

  /** `nn.BatchNorm2d` / `BatchNorm1d` on the last axis: PyTorch momentum 0.1 (tfjs 0.9), epsilon 1e-5. */
  batchNorm(local: string): Layer {
    return new BatchNorm({name: this.name(local), momentum: 0.1, epsilon: 1e-5}) as unknown as Layer
  }

  /** `nn.LayerNorm` over the last `axes` dimensions (1: the feature axis), epsilon 1e-5. */
  layerNorm(local: string, axes = 1): Layer {
    return new LayerNorm({name: this.name(local), axes, epsilon: 1e-5}) as unknown as Layer
  }

  /** Dropout with a fresh mask every training step (seeded from the build seed and the step). */
  dropout(local: string, rate: number): Layer {
    return new Dropout({name: this.name(local), rate, seed: this.seed()}) as unknown as Layer
  }

  apply(layer: Layer, x: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
    return layer.apply(x) as SymbolicTensor
  }
}
