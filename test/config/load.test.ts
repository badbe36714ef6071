import {test} from 'node:test'
import assert from 'node:assert/strict'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {copyFileSync, mkdirSync, writeFileSync} from 'node:fs'
import {loadSpec} from '../../src/config/load.js'
import {validateSpec} from '../../src/config/validate.js'
import {suggest} from '../../src/config/suggest.js'
import {mixture, REPO, resolveObject, specProblems, tempDir, writeSpec} from '../helpers.js'

const base = {name: 'x', data: {dataset: 'synthetic', image_size: 8}, model: {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]}}

const problems = specProblems

test('defaults are filled in both stages (spec and component parameters)', () => {
  const spec = resolveObject(base)
  assert.equal(spec.seed, 42)
  const optimizer = spec.train.optimizer
  assert.ok(optimizer.type === 'adam')
  assert.equal(optimizer.eps, 1e-8)
  assert.equal(spec.train.batch_size, 64)
  assert.equal(spec.engine.backend, 'auto')
  const cnn = (spec.model as unknown as {components: Record<string, unknown>[]}).components[0]
  assert.deepEqual(cnn, {type: 'cnn', channels: [4, 3], in_channels: 3, kernel_size: 3, residual: true})
  assert.deepEqual((spec.model as unknown as {norm: unknown}).norm, {type: 'none'})
})

test('presets apply under explicit parameters', () => {
  const spec = resolveObject({...base, model: {type: 'mixture', components: [{type: 'vit', preset: 'paper_joint', heads: 4}]}})
  const vit = (spec.model as unknown as {components: Record<string, unknown>[]}).components[0]
  assert.equal(vit.depth, 2)
  assert.equal(vit.heads, 4)
  assert.equal(vit.preset, 'paper_joint')
})

test('extends: child overrides base, objects merge, lists replace, paths are relative to the child', () => {
  const dir = tempDir()
  writeSpec({...base, train: {epochs: 7, batch_size: 16, optimizer: {lr: 0.5}}}, dir, 'base.yaml')
  const child = writeSpec({extends: 'base.yaml', name: 'child', train: {batch_size: 8}}, join(dir), 'child.yaml')
  const spec = validateSpec(loadSpec(child))
  assert.equal(spec.name, 'child')
  assert.equal(spec.train.epochs, 7)
  assert.equal(spec.train.batch_size, 8)
  assert.equal(spec.train.optimizer.lr, 0.5)
})

test('null removes a key, in a spec that extends another and in a --set, so it takes its default (JSON Merge Patch)', () => {
  const dir = tempDir()
  writeSpec({...base, train: {epochs: 3, ema: {decay: 0.9}, mixup: {mixup_alpha: 0.2}, optimizer: {lr: 0.5, eps: 1e-6}}}, dir, 'base.yaml')
  const child = writeSpec('extends: base.yaml\ntrain:\n  ema: null\n  mixup: ~\n  optimizer: {eps: null}\n  grad_clip: null\n', dir, 'child.yaml')
  const spec = validateSpec(loadSpec(child))
  assert.equal(spec.train.ema, undefined)
  assert.equal(spec.train.mixup, undefined)
  // Only the named key goes: its siblings stay, and the removed one takes its default.
  assert.equal(spec.train.epochs, 3)
  assert.equal(spec.train.optimizer.lr, 0.5)
  assert.equal(spec.train.optimizer.eps, 1e-8)
  // A --set removes what the spec (or its base) set; `key=` is null too.
  const baseFile = join(dir, 'base.yaml')
  const set = validateSpec(loadSpec(baseFile, ['train.ema=null', 'train.mixup=']))
  assert.equal(set.train.ema, undefined)
  assert.equal(set.train.mixup, undefined)
  assert.equal(validateSpec(loadSpec(baseFile)).train.ema?.decay, 0.9)
})

test("a key a child removes takes no problem from its base's lines, and a null where nothing is merged is refused saying how to leave a key unset", () => {
  const dir = tempDir()
  writeFileSync(join(dir, 'base.yaml'), 'name: x\ndata: {dataset: synthetic, image_size: 8}\nmodel: {type: cnn_classifier}\ntrain:\n  ema: {decay: 7}\n')
  writeFileSync(join(dir, 'child.yaml'), 'extends: base.yaml\ntrain: {ema: null}\n')
  assert.equal(validateSpec(loadSpec(join(dir, 'child.yaml'))).train.ema, undefined)
  const p = problems(() => validateSpec(loadSpec(join(dir, 'base.yaml'))))
  assert.equal(p[0].path, 'train.ema.decay')
  writeFileSync(join(dir, 'root.yaml'), 'name: x\ndata: {dataset: synthetic, image_size: 8}\nmodel: {type: cnn_classifier}\ntrain: {ema: null}\n')
  const q = problems(() => validateSpec(loadSpec(join(dir, 'root.yaml'))))
  assert.equal(q[0].path, 'train.ema')
  assert.match(q[0].message, /must be object \(got null\); to leave it unset, leave the key out/)
})

test('a null that removes nothing: fine for a key the spec may have, refused for a misspelt one; it creates no mapping on the way', () => {
  const dir = tempDir()
  writeSpec({...base, train: {epochs: 3, ema: {decay: 0.9}}}, dir, 'base.yaml')
  const baseFile = join(dir, 'base.yaml')
  // A key the spec may have, set nowhere: nothing to remove, nothing said.
  assert.equal(validateSpec(loadSpec(baseFile, ['train.early_stopping=null'])).train.early_stopping, undefined)
  // Under a mapping that is not there, the removal makes none (it would turn train.mixup on).
  assert.equal(validateSpec(loadSpec(baseFile, ['train.mixup.prob=null'])).train.mixup, undefined)
  const typo = problems(() => validateSpec(loadSpec(baseFile, ['train.emma=null'])))
  assert.equal(typo.length, 1)
  assert.equal(typo[0].path, 'train.emma')
  assert.equal(typo[0].origin?.file, '--set train.emma=null')
  assert.match(typo[0].message, /^unknown key, did you mean ema\? \(null removes a key the spec has; this one it cannot have, so nothing would change\)/)
  writeFileSync(join(dir, 'child.yaml'), 'extends: base.yaml\ntrain:\n  emma: null\n')
  const child = problems(() => validateSpec(loadSpec(join(dir, 'child.yaml'))))
  assert.deepEqual([child[0].path, child[0].origin?.line], ['train.emma', 3])
  // A component's own keys are its plugin's to judge: a removal there is not refused by the spec schema.
  assert.doesNotThrow(() => validateSpec(loadSpec(baseFile, ['model.components[0].whatever=null'])))
  // ~ alone in a --set stays a value (it may be meant as the home folder), and says how to remove the key.
  assert.match(problems(() => validateSpec(loadSpec(baseFile, ['train.ema=~'])))[0].message, /in a --set, ~ alone is not taken as null .*: to remove the key write train\.ema=null/)
})

test('extends cycles and missing bases are errors that name the file', () => {
  const dir = tempDir()
  writeFileSync(join(dir, 'a.yaml'), 'extends: b.yaml\nname: a\n')
  writeFileSync(join(dir, 'b.yaml'), 'extends: a.yaml\nname: b\n')
  assert.match(problems(() => loadSpec(join(dir, 'a.yaml')))[0].message, /extends cycle/)
  writeFileSync(join(dir, 'c.yaml'), 'name: c\nextends: nowhere.yaml\n')
  const p = problems(() => loadSpec(join(dir, 'c.yaml')))[0]
  assert.match(p.message, /nowhere\.yaml not found/)
  assert.equal(p.origin?.line, 2)
})

test('--set overrides are YAML-typed, reach list items, and are recorded', () => {
  const file = writeSpec(base)
  const loaded = loadSpec(file, ['train.optimizer.lr=3e-4', 'model.components[0].channels=[8, 3]', 'seed=7', 'data.augment=false'])
  const spec = validateSpec(loaded)
  assert.equal(spec.train.optimizer.lr, 3e-4)
  assert.equal(spec.seed, 7)
  assert.equal(spec.data.augment, false)
  assert.deepEqual((spec.model as unknown as {components: {channels: number[]}[]}).components[0].channels, [8, 3])
  assert.deepEqual(loaded.overrides, {'train.optimizer.lr': 3e-4, 'model.components[0].channels': [8, 3], seed: 7, 'data.augment': false})
})

test('an unknown key from --set is an error that points at the override', () => {
  const p = problems(() => validateSpec(loadSpec(writeSpec(base), ['train.lrr=1'])))
  assert.equal(p[0].path, 'train.lrr')
  assert.match(p[0].message, /unknown key/)
  assert.equal(p[0].origin?.file, '--set train.lrr=1')
  assert.match(problems(() => loadSpec(writeSpec(base), ['nonsense']))[0].message, /not key=value/)
  assert.match(problems(() => loadSpec(writeSpec(base), ['model.components[5].depth=2']))[0].message, /no list item 5/)
  // A misspelt key in the middle of the path: the key the override made is blamed on it, not on the spec's parent.
  const typo = problems(() => validateSpec(loadSpec(writeSpec(base), ['train.optimzer.lr=1'])))
  assert.deepEqual([typo[0].path, typo[0].origin?.file], ['train.optimzer', '--set train.optimzer.lr=1'])
})

test('the example a malformed --set is answered with is an override the spec takes', () => {
  const message = problems(() => loadSpec(writeSpec(base), ['nonsense']))[0].message
  const example = /--set (\S+)/.exec(message)?.[1]
  assert.ok(example, message)
  assert.doesNotThrow(() => validateSpec(loadSpec(writeSpec(base), [example])))
})

test('problems carry file, line:column, dotted path and a suggestion', () => {
  const file = writeSpec(`name: x
data: {dataset: synthetic, image_size: 8}
model:
  type: mixture
  components:
    - {type: cnn}
    - {type: vit, dpeth: 2}
train:
  batch_size: 0
  optimizer: {lr: -1}
`)
  const p = problems(() => validateSpec(loadSpec(file)))
  const byPath = Object.fromEntries(p.map((x) => [x.path, x]))
  assert.equal(byPath['model.components[1].dpeth'].message, 'unknown key, did you mean depth?')
  assert.equal(byPath['model.components[1].dpeth'].origin?.line, 7)
  assert.equal(byPath['model.components[1].dpeth'].origin?.col, 19)
  assert.match(byPath['train.batch_size'].message, /must be >= 1 \(got 0\)/)
  assert.equal(byPath['train.batch_size'].origin?.line, 9)
  assert.match(byPath['train.optimizer.lr'].message, /must be > 0/)
  assert.equal(p.length, 3)
})

test('wrong types, unknown components, presets and datasets are reported with choices', () => {
  let p = problems(() => resolveObject({...base, train: {epochs: 'ten'}}))
  assert.match(p[0].message, /must be integer \(got "ten"\)/)
  p = problems(() => resolveObject({...base, model: {type: 'mixture', components: [{type: 'vitt'}]}}))
  assert.equal(p[0].path, 'model.components[0].type')
  assert.match(p[0].message, /unknown component "vitt", did you mean vit\?/)
  p = problems(() => resolveObject({...base, model: {type: 'mixture', components: [{type: 'vit', preset: 'big'}]}}))
  assert.match(p[0].message, /unknown preset "big" for vit: choose one of paper_alternating, paper_joint/)
  p = problems(() => resolveObject({...base, data: {dataset: 'cifar11'}}))
  assert.match(p[0].message, /unknown dataset "cifar11", did you mean cifar10\?/)
  p = problems(() => resolveObject({...base, model: {type: 'mixture', block: 'jont', components: [{type: 'cnn'}]}}))
  assert.match(p[0].message, /unknown block "jont", did you mean joint\?/)
})

test('malformed YAML names the line', () => {
  const file = writeSpec('name: x\ndata: {dataset: cifar10\nmodel: 3\n')
  const p = problems(() => loadSpec(file))
  assert.match(p[0].message, /YAML syntax error/)
  assert.ok(p[0].origin?.line, 'has a line')
  assert.match(problems(() => loadSpec(writeSpec('- just\n- a list\n')))[0].message, /must be a YAML mapping/)
  assert.match(problems(() => loadSpec(writeSpec('name: a\nname: b\n')))[0].message, /YAML syntax error/)
})

test('suggestions only for near misses', () => {
  assert.equal(suggest('dpeth', ['depth', 'heads']), 'depth')
  assert.equal(suggest('zzzzzz', ['depth', 'heads']), undefined)
})

test('a key path through __proto__, constructor or prototype, or with an empty segment, is refused and touches no object', () => {
  for (const set of ['__proto__.polluted=1', 'model.__proto__.polluted=1', 'constructor.prototype.polluted=1', 'data..image_size=8', '.seed=1', 'seed.=1']) {
    const p = problems(() => loadSpec(writeSpec(base), [set]))
    assert.equal(p.length, 1, set)
    assert.match(p[0].message, /is not a key path/, set)
    assert.equal(p[0].origin?.file, '--set')
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is untouched')
})

test('a __proto__ key in a spec that extends another stays a key, which validation refuses', () => {
  const dir = tempDir()
  writeSpec(base, dir, 'base.yaml')
  writeFileSync(join(dir, 'child.yaml'), 'extends: base.yaml\ndata:\n  __proto__: {polluted: 1}\n')
  const p = problems(() => validateSpec(loadSpec(join(dir, 'child.yaml'))))
  assert.ok(p.some((q) => q.path === 'data.__proto__' && /unknown key/.test(q.message)), JSON.stringify(p))
  assert.equal(({} as Record<string, unknown>).polluted, undefined)
})

test('a --set value that YAML cannot convert (an alias without its anchor) is a spec problem with how to quote it', () => {
  const p = problems(() => loadSpec(writeSpec(base), ['name=*a']))
  assert.match(p[0].message, /value "\*a" is not valid YAML: .*alias.*; quote it to pass text, e.g. --set 'name="\*a"'/i)
  assert.doesNotThrow(() => loadSpec(writeSpec(base), ['name="*a"']))
})

test('an epoch count that is not valid is reported once, not again by the schedule checks', () => {
  const p = problems(() => validateSpec(loadSpec(writeSpec(base), ['train.epochs=0'])))
  assert.deepEqual(p.map((q) => q.path), ['train.epochs'])
})

test('an empty spec file is said to be empty, once', () => {
  const dir = tempDir()
  writeFileSync(join(dir, 'empty.yaml'), '# nothing yet\n')
  const p = problems(() => loadSpec(join(dir, 'empty.yaml')))
  assert.equal(p.length, 1)
  assert.match(p[0].message, /is empty: a spec gives at least name, data and model/)
})

test('a second YAML document in a spec is named as such, with what to do (not the YAML library\'s API)', () => {
  const dir = tempDir()
  writeFileSync(join(dir, 'two.yaml'), 'name: a\n---\nname: b\n')
  const p = problems(() => loadSpec(join(dir, 'two.yaml')))
  assert.match(p[0].message, /a second YAML document \(a line of ---\) follows the first; a spec is one document/)
  assert.equal(p[0].origin?.line, 2)
})

test('data.data_dir is relative to the spec that names it, and stored absolute (config.yaml reproduces from anywhere)', () => {
  const dir = tempDir()
  mkdirSync(join(dir, 'sub'))
  writeSpec(base, dir, 'base.yaml')
  writeFileSync(join(dir, 'sub', 'child.yaml'), 'extends: ../base.yaml\ndata: {dataset: synthetic, image_size: 8, data_dir: ../datasets}\n')
  assert.equal(validateSpec(loadSpec(join(dir, 'sub', 'child.yaml'))).data.data_dir, join(dir, 'datasets'))
})

test('a path that starts with ~/ is under the home folder, in a spec and in a --set (where the shell leaves the ~ alone)', () => {
  const file = writeSpec({...base, data: {dataset: 'synthetic', image_size: 8, data_dir: '~/datasets'}, output: {dir: '~/results'}})
  const spec = validateSpec(loadSpec(file))
  assert.deepEqual([spec.data.data_dir, spec.output.dir], [join(homedir(), 'datasets'), join(homedir(), 'results')])
  assert.equal(validateSpec(loadSpec(file, ['data.data_dir=~/elsewhere'])).data.data_dir, join(homedir(), 'elsewhere'))
  // ~user and a ~ inside a name are not the home folder.
  assert.equal(validateSpec(loadSpec(file, ['data.data_dir=~other/x'])).data.data_dir, join(process.cwd(), '~other', 'x'))
})

test('a bare ~ (YAML null, not the home folder) is refused saying so', () => {
  const file = writeSpec(base)
  assert.throws(() => validateSpec(loadSpec(file, ['output.dir=~'])), /output\.dir: must be string \(got null\); YAML reads an empty value, null and ~ as null: write the text \(quoted, if it is one of those\), and a folder under your home as ~\/…/)
})

test("a path a --set gives is relative to the working folder, plugins too; a spec's own paths to the spec", () => {
  const dir = tempDir()
  mkdirSync(join(dir, 'specs'))
  mkdirSync(join(dir, 'plugins'))
  copyFileSync(join(REPO, 'configs', 'examples', 'plugins', 'rmsprop.mjs'), join(dir, 'plugins', 'rmsprop.mjs'))
  const spec = writeSpec(base, join(dir, 'specs'))
  const ok = mixture(['validate', spec, '--set', 'plugins=[plugins/rmsprop.mjs]', '--set', 'train.optimizer.type=rmsprop'], {cwd: dir})
  assert.equal(ok.code, 0, ok.stderr)
  const fromSpecFolder = mixture(['validate', spec, '--set', 'plugins=[../plugins/rmsprop.mjs]'], {cwd: dir})
  assert.equal(fromSpecFolder.code, 2)
  assert.match(fromSpecFolder.stderr, /plugin file .*plugins\/rmsprop\.mjs not found \(plugin paths are relative to the spec that lists them; a --set's to the working folder\)/)
  const inSpec = mixture(['validate', writeSpec({...base, plugins: ['../plugins/rmsprop.mjs'], train: {optimizer: {type: 'rmsprop'}}}, join(dir, 'specs'), 'own.yaml')], {cwd: REPO})
  assert.equal(inSpec.code, 0, inSpec.stderr)
})
