// The CLI as a user runs it: spawned bin/run.js, stdout/stderr/exit codes, --json, plugins, bad input.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {join} from 'node:path'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {mixture as mixtureWith, REPO, tempDir, writeSpec} from '../helpers.js'

function mixture(args: string[], cwd = REPO) {
  const r = spawnSync(process.execPath, [join(REPO, 'bin', 'run.js'), ...args], {cwd, encoding: 'utf8', env: {...process.env, NO_COLOR: '1', MIXTURE_BACKEND: 'cpu'}})
  return {code: r.status, stdout: r.stdout, stderr: r.stderr}
}

const tiny = {name: 'tiny', data: {dataset: 'synthetic', image_size: 8}, model: {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]}}

test('params --json prints exactly one JSON document with the total and the components', () => {
  const r = mixture(['params', 'configs/paper/cifar10/alternating-1block.yaml', '--json'])
  assert.equal(r.code, 0, r.stderr)
  const doc = JSON.parse(r.stdout)
  assert.equal(doc.params, 4_719_167)
  assert.deepEqual(doc.components.map((c: {component: string}) => c.component), ['block1.cnn', 'block1.vit', 'block1.vit_adapter', 'head'])
})

test('params prints a per-component table', () => {
  const r = mixture(['params', 'configs/paper/stl10-perceiver/joint-1block.yaml'])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /block1\.perceiver\s+986,458/)
  assert.match(r.stdout, /total \(trainable\)\s+1,466,518/)
})

test('run --dry-run resolves, counts and writes nothing', () => {
  const dir = tempDir()
  const r = mixture(['run', writeSpec(tiny, dir), '--dry-run', '--out', join(dir, 'results')])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /total \(trainable\)/)
  assert.match(r.stdout, /optimizer:/)
  assert.equal(spawnSync('ls', [dir]).stdout.toString().trim(), 'spec.yaml')
})

test('a model that cannot be built is said at the line or --set that made it, by params, run --dry-run and run alike (exit 2)', () => {
  const dir = tempDir()
  const spec = writeSpec({...tiny, model: {type: 'mixture', components: [{type: 'vit', patch_size: 2, dim: 16, depth: 1, heads: 1, dim_head: 8, mlp_dim: 16}]}}, dir)
  for (const args of [['params', spec], ['run', spec, '--dry-run'], ['run', spec, '--out', join(dir, 'results')]]) {
    const r = mixture([...args, '--set', 'model.components[0].patch_size=3'])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /--set model\.components\[0\]\.patch_size=3: model\.components\[0\]: model mixture cannot be built .*patch_size 3/, args.join(' '))
  }
  assert.ok(!existsSync(join(dir, 'results')))
})

test('run --name names the run (as --set name= does); flags that repeat take one value each, so the spec may follow them', () => {
  const dir = tempDir()
  const spec = writeSpec(tiny, dir)
  const r = mixture(['run', '--set', 'seed=3', '--name', 'renamed', spec, '--dry-run', '--out', join(dir, 'results')])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /^name: renamed$/m)
  assert.match(r.stdout, /^seed: 3$/m)
  const bad = mixture(['run', spec, '--name', 'no spaces allowed', '--dry-run'])
  assert.equal(bad.code, 2, bad.stderr)
  assert.match(bad.stderr, /--name no spaces allowed: "no spaces allowed" cannot name a folder/)
  assert.equal(mixture(['list', '--plugin', join('configs', 'examples', 'plugins', 'rmsprop.mjs'), 'rmsprop']).code, 0)
})

test('a path flag written --out=~/… (where the shell leaves the ~) is under the home folder', () => {
  const home = tempDir()
  const r = mixtureWith(['table', join(REPO, 'test', 'fixtures', 'runs', 'cifar10-table'), '--out=~/tables'], {env: {HOME: home}})
  assert.equal(r.code, 0, r.stderr)
  assert.ok(readFileSync(join(home, 'tables', 'table.md'), 'utf8').length > 0)
})

test('validate: exit 2 with file:line:col, path and suggestion; no stack trace', () => {
  const dir = tempDir()
  const file = writeSpec('name: x\ndata: {dataset: synthetic}\nmodel:\n  type: mixture\n  components:\n    - {type: cnn}\n    - {type: vit, dpeth: 2}\n', dir)
  const r = mixture(['validate', file])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /spec\.yaml:7:19: model\.components\[1\]\.dpeth: unknown key, did you mean depth\?/)
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/)
  assert.equal(r.stdout, '')
})

test('validate --json reports the problems as JSON on stdout and exits 2', () => {
  const r = mixture(['validate', writeSpec({...tiny, train: {epochs: 0}}), '--json'])
  assert.equal(r.code, 2)
  const doc = JSON.parse(r.stdout)
  assert.equal(doc.error.code, 2)
  assert.equal(doc.error.problems[0].path, 'train.epochs')
})

test('bad input: missing file, malformed YAML, unknown flag value — exit 2', () => {
  assert.equal(mixture(['validate', 'no/such/spec.yaml']).code, 2)
  assert.match(mixture(['validate', 'no/such/spec.yaml']).stderr, /file not found/)
  const bad = mixture(['validate', writeSpec('name: [unclosed\n')])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /YAML syntax error/)
  assert.equal(mixture(['run', writeSpec(tiny), '--backend', 'quantum']).code, 2)
})

test('a plugin file adds a component through the public API', () => {
  const dir = tempDir()
  writeFileSync(
    join(dir, 'my-plugin.mjs'),
    `export default function (mm) {
  mm.registerComponent({
    name: 'scale_conv',
    summary: 'One 3x3 conv, image in, image out (test plugin).',
    schema: {type: 'object', additionalProperties: false, properties: {filters: {type: 'integer', minimum: 1, default: 3}}},
    tiny: {},
    output: 'image',
    create: (ctx, x, p) => ctx.conv2d(x, 'conv', 3, p.filters, 3, {padding: 1}),
  })
}
`,
  )
  const file = writeSpec({...tiny, plugins: ['./my-plugin.mjs'], model: {type: 'mixture', components: [{type: 'scale_conv', filters: 5}]}}, dir)
  const r = mixture(['params', file, '--json'])
  assert.equal(r.code, 0, r.stderr)
  // conv 3→5 3×3 with bias = 140, head Linear(5·8·8, 10) = 3,210: the plugin's own builder made it
  assert.equal(JSON.parse(r.stdout).params, 140 + 3210)
  assert.equal(JSON.parse(r.stdout).components[0].component, 'block1.scale_conv')
  // The plugin's schema checks and fills the entry's parameters
  const valid = mixture(['validate', writeSpec({...tiny, plugins: ['./my-plugin.mjs'], model: {type: 'mixture', components: [{type: 'scale_conv'}]}}, dir, 'defaults.yaml'), '--json'])
  assert.equal(valid.code, 0, valid.stderr)
  assert.deepEqual(JSON.parse(valid.stdout).spec.model.components[0], {type: 'scale_conv', filters: 3})
  const bad = mixture(['validate', writeSpec({...tiny, plugins: ['./my-plugin.mjs'], model: {type: 'mixture', components: [{type: 'scale_conv', filters: 0}]}}, dir, 'bad.yaml')])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /model\.components\[0\]\.filters: must be >= 1/)
  // Plugins are per spec: without the plugins: line the component does not exist
  assert.match(mixture(['validate', writeSpec({...tiny, model: {type: 'mixture', components: [{type: 'scale_conv'}]}}, dir, 'other.yaml')]).stderr, /unknown component "scale_conv"/)
})

test("the README's plugin file (a component and a model) validates, as a component of a mixture and as the model", () => {
  const dir = tempDir()
  const block = readFileSync(join(REPO, 'README.md'), 'utf8').match(/```js\n\/\/ my-plugin\.mjs\n([\s\S]*?)```/)
  assert.ok(block, 'README.md shows my-plugin.mjs')
  writeFileSync(join(dir, 'my-plugin.mjs'), block[1])
  const data = {dataset: 'synthetic', image_size: 8, synthetic: {train: 16, test: 8, classes: 3}}
  const model = writeSpec({name: 'readme-model', plugins: ['my-plugin.mjs'], data, model: {type: 'small_mlp'}}, dir, 'model.yaml')
  const component = writeSpec({name: 'readme-component', plugins: ['my-plugin.mjs'], data, model: {type: 'mixture', components: [{type: 'conv_stack'}, {type: 'cnn', channels: [4, 3]}]}}, dir, 'component.yaml')
  for (const spec of [model, component]) {
    const r = mixture(['validate', spec])
    assert.equal(r.code, 0, r.stderr)
  }
})

test('list --plugin lists a plugin file\'s optimizer and schedule beside the built-ins, with the keys the registry adds', () => {
  const plugins = ['rmsprop.mjs', 'exponential-lr.mjs'].flatMap((f) => ['--plugin', join('configs', 'examples', 'plugins', f)])
  const r = mixture(['list', ...plugins, '--json'])
  assert.equal(r.code, 0, r.stderr)
  const listed = JSON.parse(r.stdout) as {kind: string; name: string; defaults: Record<string, unknown>; source: string}[]
  const rmsprop = listed.find((e) => e.kind === 'optimizer' && e.name === 'rmsprop')!
  assert.deepEqual(rmsprop.defaults, {lr: 0.001, weight_decay: 0, alpha: 0.99, eps: 1e-8, weight_decay_exclude: []})
  assert.match(rmsprop.source, /configs\/examples\/plugins\/rmsprop\.mjs$/)
  const exponential = listed.find((e) => e.kind === 'schedule' && e.name === 'exponential')!
  assert.deepEqual(exponential.defaults, {warmup_epochs: 0, warmup_start_factor: 0.01}, 'gamma has no default (JSON drops it; the text output says required)')
  assert.deepEqual(listed.filter((e) => e.kind === 'optimizer').map((e) => e.name), ['adam', 'adamw', 'rmsprop', 'sgd'])
  const missing = mixture(['list', '--plugin', 'no/such/plugin.mjs'])
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /--plugin no\/such\/plugin\.mjs: no such file/)
})

test('missing plugin files and plugins that throw are clear errors (exit 2)', () => {
  const dir = tempDir()
  let r = mixture(['validate', writeSpec({...tiny, plugins: ['./absent.js']}, dir)])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /spec\.yaml:\d+:\d+: plugins\[0\]: plugin file .*absent\.js not found/)
  writeFileSync(join(dir, 'boom.mjs'), 'export default function () { throw new Error("kaboom") }\n')
  r = mixture(['validate', writeSpec({...tiny, plugins: ['./boom.mjs']}, dir, 'boom.yaml')])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /plugin .*boom\.mjs failed while loading: kaboom/)
  writeFileSync(join(dir, 'dup.mjs'), "export default function (mm) { mm.registerComponent({name: 'cnn', summary: 'x', schema: {type: 'object'}, output: 'image', create: (c, x) => x}) }\n")
  r = mixture(['validate', writeSpec({...tiny, plugins: ['./dup.mjs']}, dir, 'dup.yaml')])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /already registered by builtin/)
  // A schema ajv cannot compile is the plugin's mistake, found when it loads, not when the entry is used.
  writeFileSync(join(dir, 'badschema.mjs'), "export default function (mm) { mm.registerComponent({name: 'odd', summary: 'x', schema: {type: 'object', properties: {a: {type: 'foo'}}}, output: 'image', create: (c, x) => x}) }\n")
  r = mixture(['validate', writeSpec({...tiny, plugins: ['./badschema.mjs']}, dir, 'badschema.yaml')])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /plugin .*badschema\.mjs registers component "odd" with a schema that is not valid JSON Schema: /)
  // A plugin's own mistakes, each named with the file and, where the stack says, its line; exit 2.
  const plugin = (name: string, code: string) => {
    writeFileSync(join(dir, `${name}.mjs`), code)
    return mixture(['validate', writeSpec({...tiny, plugins: [`./${name}.mjs`]}, dir, `${name}.yaml`)])
  }
  const component = (name: string, schema: string) => `mm.registerComponent({name: '${name}', summary: 'x', schema: ${schema}, output: 'image', create: (c, x) => x})`
  for (const [name, code, message] of [
    ['nullthrow', 'export default function () { throw null }\n', /nullthrow\.mjs failed while loading: it threw null \(not an Error\)/],
    ['syntax', 'export default function (mm) {\n  const a = 1\n  foo(\n}\n', /syntax\.mjs failed while loading: Unexpected token '\}' \(at line 4 of the plugin\)/],
    ['runtime', 'export default function (mm) {\n  const a = 1\n  missingThing.call()\n}\n', /runtime\.mjs failed while loading: missingThing is not defined \(at line 3, column 3 of the plugin\)/],
    ['typekey', `export default function (mm) { ${component('typed', "{type: 'object', properties: {type: {type: 'integer', default: 3}}}")} }\n`, /cannot register component "typed": its schema names type, which a spec gives beside the parameters/],
    ['baddefault', `export default function (mm) { ${component('baddef', "{type: 'object', properties: {hidden: {type: 'integer', minimum: 1, default: 0}}}")} }\n`, /registers component "baddef" whose schema's default breaks the schema itself: hidden must be >= 1 \(its default 0\)/],
    ['twice', `export default function (mm) { ${component('twin', "{type: 'object'}")}; ${component('twin', "{type: 'object'}")} }\n`, /cannot register component "twin" a second time in .*twice\.mjs/],
  ] as const) {
    const failed = plugin(name, code)
    assert.equal(failed.code, 2, `${name}: ${failed.stderr}`)
    assert.match(failed.stderr, message)
  }
  // A plugin's dataset or transform that fails in its own code while a run loads or trains: named, with its file.
  writeFileSync(join(dir, 'ds.mjs'), `export default function (mm) {
  mm.registerDataset({name: 'bad_ds', summary: 'x', schema: {type: 'object', properties: {}}, classNames: () => ['a', 'b'], load: async () => undefined.train})
  mm.registerTransform({name: 'bad_tf', summary: 'x', applies: 'train', schema: {type: 'object', properties: {}}, create: () => ({apply() { throw new RangeError('exploded') }})})
}
`)
  const model = {type: 'cnn_classifier', channels: [4, 3]}
  const loading = mixture(['run', writeSpec({name: 'pds', plugins: ['./ds.mjs'], data: {dataset: 'bad_ds', image_size: 8}, model, train: {epochs: 1}}, dir, 'pds.yaml'), '--out', join(dir, 'results')])
  assert.equal(loading.code, 2, loading.stderr)
  assert.match(loading.stderr, /Dataset bad_ds \(plugin .*ds\.mjs\) failed while loading its data: Cannot read properties of undefined/)
  const training = mixture(['run', writeSpec({name: 'ptf', plugins: ['./ds.mjs'], data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 32, test: 16}, augment: ['bad_tf']}, model, train: {epochs: 1, batch_size: 16}}, dir, 'ptf.yaml'), '--out', join(dir, 'results')])
  assert.equal(training.code, 1, training.stderr)
  assert.match(training.stderr, /transform bad_tf \(plugin .*ds\.mjs\) failed on a training image: exploded/)
  writeFileSync(join(dir, 'number.mjs'), 'export default 42\n')
  r = mixture(['validate', writeSpec({...tiny, plugins: ['./number.mjs']}, dir, 'number.yaml')])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /plugin .*number\.mjs exports a default number; a plugin registers its entries when imported, or exports a default function\(api\)/)
  r = mixture(['validate', writeSpec({...tiny, plugins: [1]}, dir, 'one.yaml')])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /plugins\[0\]: is 1; a plugin is the path of a \.js or \.mjs file/)
  writeFileSync(join(dir, 'nothing.mjs'), 'export const x = 1\n')
  r = mixture(['validate', writeSpec({...tiny, plugins: ['./nothing.mjs']}, dir, 'nothing.yaml')])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /plugin .*nothing\.mjs registered nothing: a plugin calls mm\.registerComponent/)
})

test('list shows components with defaults and presets; schema is valid JSON', () => {
  const r = mixture(['list', 'perceiver'])
  assert.equal(r.code, 0)
  assert.match(r.stdout, /perceiver\s+Perceiver encoder/)
  assert.match(r.stdout, /presets: paper_alternating, paper_joint/)
  assert.match(mixture(['list', 'optimzer']).stdout, /nothing registered matches "optimzer"; did you mean optimizer\?/)
  // A misspelt spec key is suggested too, by its name or its dotted path.
  assert.match(mixture(['list', 'early_stoping']).stdout, /did you mean early_stopping\?/)
  assert.match(mixture(['list', 'train.em.decay']).stdout, /did you mean train\.ema\.decay\?/)
  // A word no entry has but the spec does: its keys, with descriptions and defaults.
  const mixup = mixture(['list', 'mixup']).stdout
  assert.match(mixup, /nothing registered matches "mixup"; the spec's own keys that do/)
  assert.match(mixup, /\n  train\.mixup: mixup and cutmix of the training batches.*\n    keys: mixup_alpha=0 cutmix_alpha=0 cutmix_minmax prob=1 /)
  assert.match(mixture(['list', 'decay']).stdout, /train\.ema\.decay \(default 0\.9998\): /)
  // A dotted path finds its key; --json lists spec keys in an entry's shape.
  assert.match(mixture(['list', 'train.ema']).stdout, /\n  train\.ema: .*\n    keys: decay=0\.9998 warmup/)
  const json = JSON.parse(mixture(['list', 'mixup', '--json']).stdout)
  assert.deepEqual([json[0].kind, json[0].name, json[0].defaults.prob], ['spec key', 'train.mixup', 1])
  const s = mixture(['schema'])
  const schema = JSON.parse(s.stdout)
  assert.equal(schema.type, 'object')
  assert.ok(schema.$defs.component.allOf.length >= 3)
})
