// Values that contain themselves (a YAML alias inside the node it names) and nesting too deep to
// walk: refused where YAML is read (spec files, sweep files, --set and --slurm values), exit 2 with
// the file:line of the alias or the --set that gave it, never a stack overflow.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {loadSpec, parseOverride} from '../../src/config/load.js'
import {validateSpec} from '../../src/config/validate.js'
import {expandSweep} from '../../src/config/sweep.js'
import {resolveLauncher} from '../../src/config/launcher.js'
import {MAX_DEPTH} from '../../src/config/nesting.js'
import {mixture, specProblems, tempDir, writeSpec} from '../helpers.js'

const SPEC_YAML = 'name: tiny\ndata: {dataset: synthetic, image_size: 8}\nmodel: {type: mixture, components: [{type: cnn, channels: [3]}]}\n'
const SELF = /alias \*r names a node that contains it .*an alias may not refer to the node that contains it/
const DEEP = new RegExp(`nested too deeply: more than ${MAX_DEPTH} levels`)

/** A spec file and a sweep file over it, in one folder. */
function sweepOver(sweep: string): string {
  const dir = tempDir()
  writeSpec(SPEC_YAML, dir, 'q.yaml')
  return writeSpec(sweep, dir, 'sweep.yaml')
}

test('an alias inside the node it names is refused at its line in a spec file, directly, through a key or a level down', () => {
  for (const [yaml, line, col] of [
    ['label: &r [1, *r]\n', 4, 15],
    ['label: &r {a: [x, {b: *r}]}\n', 4, 23],
    ['label: &r {? *r : 1}\n', 4, 14],
  ] as const) {
    const [p] = specProblems(() => loadSpec(writeSpec(`${SPEC_YAML}${yaml}`)))
    assert.match(p.message, SELF, yaml)
    assert.deepEqual([p.origin?.line, p.origin?.col], [line, col], yaml)
  }
  // An alias of a node that is complete is an ordinary alias.
  const spec = loadSpec(writeSpec(`${SPEC_YAML}label: &r x\ndescription: *r\n`)).spec
  assert.equal(spec.description, 'x')
})

test('validate and run --dry-run refuse a self-referring alias with exit 2, in a spec that extends another', () => {
  const dir = tempDir()
  writeSpec(SPEC_YAML, dir, 'base.yaml')
  const file = writeSpec('extends: base.yaml\nlabel: &r [1, *r]\n', dir, 'child.yaml')
  for (const args of [['validate', file], ['run', '--dry-run', file]]) {
    const r = mixture(args)
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /child\.yaml:2:15: label\[1\]: the YAML alias \*r names a node that contains it/)
  }
})

test('an alias inside its node in a --set value is refused naming the --set', () => {
  const [p] = specProblems(() => parseOverride('train.checkpoint_every=&r [1, *r]'))
  assert.equal(p.origin?.file, '--set')
  assert.equal(p.path, 'train.checkpoint_every[1]')
  assert.match(p.message, SELF)
  const r = mixture(['validate', writeSpec(SPEC_YAML), '--set', 'label=&r [1, *r]'])
  assert.equal(r.code, 2, r.stderr)
  assert.match(r.stderr, SELF)
})

test("an alias inside its node in a sweep file (a point's set:, the launcher) is refused at its line", () => {
  let [p] = specProblems(() => expandSweep(sweepOver('sweep: {name: s, points: [q.yaml], set: {label: &r [1, *r]}}\n'), []))
  assert.match(p.message, SELF)
  assert.deepEqual([p.origin?.line, p.path], [1, 'sweep.set.label[1]'])
  ;[p] = specProblems(() => expandSweep(sweepOver('sweep:\n  name: s\n  points: [q.yaml]\n  launcher: &r {type: local, extra: *r}\n'), []))
  assert.match(p.message, SELF)
  assert.deepEqual([p.origin?.line, p.origin?.col, p.path], [4, 37, 'sweep.launcher.extra'])
  const r = mixture(['sweep', '-n', sweepOver('sweep:\n  name: s\n  points: [q.yaml]\n  launcher: &r {type: local, extra: *r}\n')])
  assert.equal(r.code, 2, r.stderr)
})

test('an alias inside its node in a --slurm value is refused naming the --slurm', () => {
  const [p] = specProblems(() => resolveLauncher(undefined, {slurm: ['extra=&r {a: *r}']}, new Map()))
  assert.equal(p.origin?.file, '--slurm extra=&r {a: *r}')
  assert.match(p.message, SELF)
})

test(`a --set key path more than ${MAX_DEPTH} keys deep is refused with the limit, before anything walks it`, () => {
  const path = (n: number) => Array(n).fill('a').join('.')
  const [p] = specProblems(() => parseOverride(`${path(2000)}=1`))
  assert.match(p.message, new RegExp(`is 2000 keys deep, more than a spec nests \\(at most ${MAX_DEPTH} `))
  assert.equal(parseOverride(`${path(MAX_DEPTH)}=1`).value, 1)
  assert.match(specProblems(() => parseOverride(`${path(MAX_DEPTH + 1)}=1`))[0].message, /keys deep/)
  const r = mixture(['validate', writeSpec(SPEC_YAML), '--set', `${path(2000)}=1`])
  assert.equal(r.code, 2, r.stderr)
  assert.ok(r.stderr.length < 1000, `the path is not echoed whole: ${r.stderr.length} characters`)
})

test('a spec file nested too deeply is said to be so, with the limit, where yaml itself gives up too', () => {
  // n lists within one another around a 1, which is n + 1 keys and items down from the top.
  const flow = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`
  for (const label of [flow(1000), flow(MAX_DEPTH), `\n  ${'- '.repeat(3000)}1`, `\n  ${'- '.repeat(MAX_DEPTH)}1`]) {
    const [p, ...rest] = specProblems(() => loadSpec(writeSpec(`${SPEC_YAML}label: ${label}\n`)))
    assert.match(p.message, DEEP)
    assert.doesNotMatch(p.message, /syntax error|call stack/)
    assert.equal(p.origin?.line !== undefined, true)
    assert.equal(rest.length, 0, 'one problem, not the parser\'s consequences')
  }
  // One level less is a value the schema then judges.
  assert.match(specProblems(() => validateSpec(loadSpec(writeSpec(`${SPEC_YAML}label: ${flow(MAX_DEPTH - 1)}\n`))))[0].message, /must be string/)
  // The whole file too deep for yaml's first pass (800,000 characters of it) is refused as a whole.
  const [p] = specProblems(() => loadSpec(writeSpec(`${SPEC_YAML}label:\n  ${'- '.repeat(400_000)}1\nseed: ${'['.repeat(100_000)}\n`)))
  assert.match(p.message, DEEP)
})

test('aliases count as deep as what they stand for: a chain of them cannot build nesting no walk survives', () => {
  const lines = [`a0: &a0 ${'['.repeat(40)}${']'.repeat(40)}`]
  for (let i = 1; i < 200; i++) lines.push(`a${i}: &a${i} ${'['.repeat(40)}*a${i - 1}${']'.repeat(40)}`)
  const [p] = specProblems(() => loadSpec(writeSpec(`${SPEC_YAML}${lines.join('\n')}\n`)))
  assert.match(p.message, /nested too deeply.*counting what its aliases stand for/)
  assert.equal(p.origin?.line, 5)
})

test('a --set value nested too deeply is refused without echoing it', () => {
  for (const value of [`${'['.repeat(1000)}${']'.repeat(1000)}`, `${'['.repeat(MAX_DEPTH)}1${']'.repeat(MAX_DEPTH)}`, `${'- '.repeat(60_000)}1`]) {
    const [p] = specProblems(() => parseOverride(`label=${value}`))
    assert.match(p.message, DEEP)
    assert.ok(p.message.length + p.path.length < 600, `${p.message.length + p.path.length} characters`)
  }
  // The key path counts: a value two deep under a key path 63 deep is 65 deep.
  assert.match(specProblems(() => parseOverride(`${Array(MAX_DEPTH - 1).fill('a').join('.')}=[[1]]`))[0].message, DEEP)
})
