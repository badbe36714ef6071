// `model.init: torch` draws what PyTorch draws: every parameter tensor (and BatchNorm buffer) of every
// paper model in configs/paper/ against the distribution PyTorch's own initialisation gives the same
// tensor (test/fixtures/torch/init.json, made by bench/torch/init_fixture.py: each module's default
// plus the model's init loop, pooled over 3 seeds). The tolerances are sampling tolerances: 6 standard
// errors for the mean, for the spread (tensors of ≥ 30 values) and for the empirical CDF at each of 15
// quantiles (where both samples expect ≥ 5 draws beyond it), and the pooled range widened by half,
// which bounded laws never leave. The last tests plant wrong laws and check that each one fails.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {loadSpec} from '../../src/config/load.js'
import {validateSpec} from '../../src/config/validate.js'
import {buildModel} from '../../src/model/build.js'
import type {LayersModel} from '../../src/engine/tf.js'
import {REPO, values} from '../helpers.js'
import {cdfProblems} from '../stats.js'
import {kindOf, torchShape} from './torch-weights.js'

interface Group {
  kind: string
  shape: number[]
  /** The shape of the module's weight, for its other tensors (a bias law depends on the weight's fan-in). */
  weight_shape?: number[]
  trainable: boolean
  example: string
  members: number
  const?: number
  mean?: number
  std?: number
  kurtosis?: number
  min?: number
  max?: number
  quantiles?: number[]
}
interface ModelEntry {
  row: string
  classes: number
  configs: string[]
  groups: Group[]
}
interface InitFixture {
  seeds: number[]
  quantile_probs: number[]
  models: ModelEntry[]
}

const FIXTURE: InitFixture = JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'torch', 'init.json'), 'utf8'))
const PROBS = FIXTURE.quantile_probs
const SEEDS = FIXTURE.seeds.length
/** Standard errors allowed: with ~2,000 tensors × 17 statistics, a right law fails by chance with probability ~1e-4. */
const Z = 6
/** Smallest tensor whose spread is compared (below it the sample std is too skewed for a normal tolerance). */
const MIN_SPREAD = 30
/** Expected draws below (and above) a quantile for its count to be compared. */
const MIN_COUNT = 5

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1)
const keyOf = (kind: string, shape: readonly number[], weightShape?: readonly number[]) => `${kind} [${shape.join(', ')}]${weightShape ? ` of weight [${weightShape.join(', ')}]` : ''}`

/** Why `x` (one tensor of ours) is not a draw from `group`'s law; empty when it is consistent with it. */
export function lawProblems(x: Float32Array, group: Group): string[] {
  const n = x.length
  if (group.const !== undefined) {
    const bad = x.findIndex((v) => v !== Math.fround(group.const!))
    return bad < 0 ? [] : [`should be the constant ${group.const}, has ${x[bad]} at ${bad}`]
  }
  const N = group.members * size(group.shape) * SEEDS
  const problems: string[] = []
  let sum = 0
  let min = Infinity
  let max = -Infinity
  for (let i = 0; i < n; i++) {
    sum += x[i]
    if (x[i] < min) min = x[i]
    if (x[i] > max) max = x[i]
  }
  const mean = sum / n
  let ss = 0
  for (let i = 0; i < n; i++) ss += (x[i] - mean) ** 2
  const std = Math.sqrt(ss / n)
  const sigma = group.std!
  const both = 1 / n + 1 / N
  const meanTol = Z * sigma * Math.sqrt(both)
  if (Math.abs(mean - group.mean!) > meanTol) problems.push(`mean ${mean.toPrecision(4)} vs PyTorch ${group.mean} (±${meanTol.toPrecision(2)})`)
  if (n >= MIN_SPREAD) {
    // log of the ratio of standard deviations: standard error √((κ − 1)/4 · (1/n + 1/N))
    const stdTol = Z * Math.sqrt(((group.kurtosis! - 1) / 4) * both) + 1e-3
    if (Math.abs(Math.log(std / sigma)) > stdTol) problems.push(`std ${std.toPrecision(4)} vs PyTorch ${sigma} (ratio ${(std / sigma).toFixed(3)}, allowed ×/÷ ${Math.exp(stdTol).toFixed(3)})`)
  }
  // the pooled draws' range, widened by half of itself: bounded laws (uniform) never leave it
  const range = group.max! - group.min!
  if (min < group.min! - range / 2 || max > group.max! + range / 2) problems.push(`values in [${min.toPrecision(4)}, ${max.toPrecision(4)}] vs PyTorch's [${group.min}, ${group.max}]`)
  // empirical CDF at PyTorch's quantiles: binomial standard error of both samples, plus one draw
  problems.push(...cdfProblems(x, group.quantiles!, PROBS, N, Z, MIN_COUNT))
  return problems
}

interface OurTensor {
  name: string
  kind: string
  shape: number[]
  weightShape?: number[]
  trainable: boolean
  values: Float32Array
}

/** Every weight of the model in PyTorch's terms; `read` false leaves the values out. */
function tensorsOf(model: LayersModel, read = true): OurTensor[] {
  const out: OurTensor[] = []
  for (const layer of model.layers) {
    const ws = layer.weights.map((w) => {
      const kind = kindOf(layer.getClassName(), w.originalName)
      return {w, kind, shape: torchShape(kind, w.shape as number[])}
    })
    const weight = ws.find((t) => t.kind.endsWith('.weight'))
    for (const {w, kind, shape} of ws) {
      const weightShape = weight && !kind.endsWith('.weight') ? weight.shape : undefined
      out.push({name: w.originalName, kind, shape, weightShape, trainable: w.trainable, values: read ? (w.read().dataSync() as Float32Array) : new Float32Array(0)})
    }
  }
  return out
}

function loadRow(config: string) {
  return buildModel(validateSpec(loadSpec(join(REPO, 'configs', 'paper', `${config}.yaml`))))
}

/** Every problem of one built model against one fixture entry. */
function modelProblems(tensors: OurTensor[], entry: ModelEntry): string[] {
  const groups = new Map(entry.groups.map((g) => [keyOf(g.kind, g.shape, g.weight_shape), g]))
  const counts = new Map<string, number>()
  const problems: string[] = []
  const leading = new Map<string, string>()
  for (const t of tensors) {
    const key = keyOf(t.kind, t.shape, t.weightShape)
    counts.set(key, (counts.get(key) ?? 0) + 1)
    const group = groups.get(key)
    if (!group) {
      problems.push(`${t.name}: PyTorch's model has no ${key}`)
      continue
    }
    if (group.trainable !== t.trainable) problems.push(`${t.name}: trainable ${t.trainable}, PyTorch's ${group.example} ${group.trainable}`)
    for (const p of lawProblems(t.values, group)) problems.push(`${t.name} (${key}, like ${group.example}): ${p}`)
    // independent draws: no two random tensors start with the same values (a reused seed would)
    if (group.const === undefined) {
      const head = Array.from(t.values.subarray(0, 4)).join(',')
      if (leading.has(head)) problems.push(`${t.name} repeats the draw of ${leading.get(head)}`)
      leading.set(head, t.name)
    }
  }
  for (const g of entry.groups) {
    const key = keyOf(g.kind, g.shape, g.weight_shape)
    if ((counts.get(key) ?? 0) !== g.members) problems.push(`${key}: ${counts.get(key) ?? 0} tensor(s) here, ${g.members} in PyTorch's model (e.g. ${g.example})`)
  }
  return problems
}

function report(problems: string[]): string {
  return `${problems.length} problem(s):\n  ${problems.slice(0, 12).join('\n  ')}${problems.length > 12 ? '\n  …' : ''}`
}

test('the init fixture covers every paper config', () => {
  const configs = readdirSync(join(REPO, 'configs', 'paper'), {withFileTypes: true})
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(join(REPO, 'configs', 'paper', d.name)).filter((f) => f.endsWith('.yaml') && f !== 'table.yaml').map((f) => `${d.name}/${f.replace(/\.yaml$/, '')}`))
  const covered = FIXTURE.models.flatMap((m) => m.configs)
  assert.deepEqual([...configs].sort(), [...covered].sort())
})

for (const entry of FIXTURE.models) {
  test(`init: torch draws PyTorch's law for every tensor of ${entry.configs.join(', ')} (${entry.row})`, () => {
    const [first, ...same] = entry.configs
    const built = loadRow(first)
    let tensors: OurTensor[]
    try {
      assert.equal(built.model.outputs[0].shape[1], entry.classes, 'outputs')
      tensors = tensorsOf(built.model)
    } finally {
      built.model.dispose()
    }
    const problems = modelProblems(tensors, entry)
    assert.equal(problems.length, 0, report(problems))
    // the other configs of this entry build the same tensors (kinds and shapes)
    const layout = (ts: OurTensor[]) => ts.map((t) => keyOf(t.kind, t.shape, t.weightShape)).sort()
    for (const config of same) {
      const other = loadRow(config)
      try {
        assert.deepEqual(layout(tensorsOf(other.model, false)), layout(tensors), `${config} builds the tensors of ${first}`)
      } finally {
        other.model.dispose()
      }
    }
  })
}

// ---- planted wrong laws: each must fail ----------------------------------------------------------

const entryOf = (row: string, classes = 10) => FIXTURE.models.find((m) => m.row === row && m.classes === classes)!
const groupOf = (row: string, kind: string, shape: number[], weightShape?: number[]) =>
  entryOf(row).groups.find((g) => g.kind === kind && String(g.shape) === String(shape) && String(g.weight_shape) === String(weightShape))!

/** U(±bound), deterministic. */
const uniform = (n: number, bound: number, seed: number) => values(n, seed).map((v) => v * bound)
/** N(0, std) by Box–Muller, deterministic. */
function normal(n: number, std: number, seed: number): Float32Array {
  const u = values(2 * n, seed)
  return Float32Array.from({length: n}, (_, i) => std * Math.sqrt(-2 * Math.log((u[2 * i] + 1) / 2 + 1e-12)) * Math.cos(Math.PI * (u[2 * i + 1] + 1)))
}

test('planted: ResNet-18 convs drawn U(±1/√fan_in) (the module default, not torchvision\'s init loop) fail', () => {
  const convs = entryOf('resnet18', 1000).groups.filter((g) => g.kind === 'conv2d.weight')
  assert.ok(convs.length >= 5)
  for (const g of convs) {
    const [cout, cin, kh, kw] = g.shape
    void cout
    const wrong = uniform(size(g.shape), 1 / Math.sqrt(cin * kh * kw), 7)
    assert.ok(lawProblems(wrong, g).some((p) => p.startsWith('std')), `${g.example} [${g.shape}] with the default law passes`)
  }
  // and the right law for the same tensors passes
  for (const g of convs) {
    const [cout, , kh, kw] = g.shape
    assert.deepEqual(lawProblems(normal(size(g.shape), Math.sqrt(2 / (cout * kh * kw)), 8), g), [], g.example)
  }
})

test('planted: a uniform law with the right spread in place of randn fails (ViT positional embedding)', () => {
  const g = groupOf('vit', 'parameter', [1, 257, 1024])
  assert.deepEqual(lawProblems(normal(257 * 1024, 1, 3), g), [])
  const problems = lawProblems(uniform(257 * 1024, Math.sqrt(3), 3), g)
  assert.ok(problems.some((p) => p.startsWith('P(x ≤')), problems.join('; '))
  assert.ok(lawProblems(normal(257 * 1024, 0.02, 3), g).some((p) => p.startsWith('std')), 'N(0, 0.02) passes')
})

test('planted: ConvTranspose2d with the fan of its input channels, and Glorot Linear, fail', () => {
  const adapter = groupOf('alternating-1block', 'conv_transpose2d.weight', [256, 3, 3, 3])
  assert.deepEqual(lawProblems(uniform(256 * 27, 1 / Math.sqrt(3 * 9), 4), adapter), [])
  assert.ok(lawProblems(uniform(256 * 27, 1 / Math.sqrt(256 * 9), 4), adapter).length > 0)
  const fc1 = groupOf('alternating-1block', 'linear.weight', [2048, 1024])
  assert.deepEqual(lawProblems(uniform(2048 * 1024, 1 / Math.sqrt(1024), 5), fc1), [])
  assert.ok(lawProblems(uniform(2048 * 1024, Math.sqrt(6 / (1024 + 2048)), 5), fc1).length > 0)
})

test('planted: a 3-value bias drawn U(±1) fails; a repeated draw fails', () => {
  const bias = groupOf('alternating-1block', 'conv2d.bias', [3], [3, 128, 3, 3])
  assert.ok(lawProblems(Float32Array.from([0.9, -0.7, 0.5]), bias).length > 0)
  const entry: ModelEntry = {row: 'x', classes: 1, configs: [], groups: [{...groupOf('vit', 'parameter', [1, 1, 1024]), members: 2}]}
  const draw = normal(1024, 1, 11)
  const problems = modelProblems(
    [
      {name: 'a', kind: 'parameter', shape: [1, 1, 1024], trainable: true, values: draw},
      {name: 'b', kind: 'parameter', shape: [1, 1, 1024], trainable: true, values: draw},
    ],
    entry,
  )
  assert.deepEqual(problems, ['b repeats the draw of a'])
})
