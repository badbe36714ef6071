// A transform that works on [0, 1] pixels (the automatic augmentation policies, which take them as
// uint8) after one whose output leaves that range (normalize, anything that applies always, or a
// plugin's transform that says `leavesUnitRange`) is refused by validation, at the misplaced item's
// file:line, with how to fix it; a plugin's transform can say `needsUnitRange` as the policies do.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {mixture, resolveObject, specProblems, tempDir, writeSpec} from '../helpers.js'

const model = {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]}
const NORMALIZE = '{type: normalize, mean: [0.5, 0.5, 0.5], std: [0.1, 0.1, 0.1]}'

/** A spec whose data.augment list is `items` (YAML flow mappings or names), one a line: item i is on line 6 + i (7 + i with plugins). */
function specText(items: string[], plugins: string[] = []): string {
  return [
    'name: t',
    ...(plugins.length ? [`plugins: [${plugins.join(', ')}]`] : []),
    'data:',
    '  dataset: synthetic',
    '  image_size: 8',
    '  augment:',
    ...items.map((item) => `    - ${item}`),
    `model: ${JSON.stringify(model)}`,
    '',
  ].join('\n')
}

test('mixture validate refuses a policy after normalize, exit 2, at the item\'s file:line, saying to move it; --dry-run too', () => {
  const file = writeSpec(specText([NORMALIZE, '{type: rand_augment, num_ops: 0}']))
  const r = mixture(['validate', file])
  assert.equal(r.code, 2, r.stderr)
  assert.match(r.stderr, /spec\.yaml:7:\d+: data\.augment\[1\]: rand_augment works on pixel values in \[0, 1\] \(it would clamp the rest away\) and comes after normalize \(data\.augment\[0\]\), whose output leaves that range; put rand_augment before normalize/)
  const dry = mixture(['run', file, '--dry-run'])
  assert.equal(dry.code, 2, dry.stderr)
  assert.match(dry.stderr, /spec\.yaml:7:\d+: data\.augment\[1\]: rand_augment works on pixel values/)
})

test('each policy after normalize, however far after, is named; before it (after color_jitter, a bilinear rotation, random_erasing) they validate', () => {
  const items = ['hflip', NORMALIZE, '{type: color_jitter, brightness: 0.4}', 'trivial_augment_wide', '{type: auto_augment, policy: svhn}', 'rand_augment']
  const problems = specProblems(() => resolveObject(specText(items)))
  assert.deepEqual(problems.map((p) => [p.path, p.origin?.line]), [['data.augment[3]', 9], ['data.augment[4]', 10], ['data.augment[5]', 11]])
  assert.match(problems[1].message, /^auto_augment works on .* after normalize \(data\.augment\[1\]\), .*; put auto_augment before normalize$/)
  const good = ['{type: color_jitter, brightness: 0.4}', '{type: random_rotation, degrees: 10, interpolation: bilinear}', '{type: random_erasing, p: 0.5}', 'trivial_augment_wide', 'rand_augment', 'auto_augment', NORMALIZE]
  assert.doesNotThrow(() => resolveObject(specText(good)))
})

test("a plugin's transforms say it too: leavesUnitRange, applies always (unless leavesUnitRange: false), needsUnitRange", () => {
  const dir = tempDir()
  writeFileSync(
    join(dir, 'range-plugin.mjs'),
    `export default function (mm) {
  const none = () => ({draw() {}, apply() {}})
  const schema = {type: 'object', additionalProperties: false, properties: {}}
  mm.registerTransform({name: 'to_signed', summary: 'x → 2x − 1 (test plugin).', applies: 'train', leavesUnitRange: true, schema, create: none})
  mm.registerTransform({name: 'standardize', summary: 'per-image standardization (test plugin).', applies: 'always', schema, create: none})
  mm.registerTransform({name: 'invert', summary: 'x → 1 − x, evaluation too (test plugin).', applies: 'always', leavesUnitRange: false, schema, create: none})
  mm.registerTransform({name: 'quantize', summary: 'to uint8 and back (test plugin).', applies: 'train', needsUnitRange: true, schema, create: none})
}
`,
  )
  const validate = (items: string[], name: string) => mixture(['validate', writeSpec(specText(items, ['./range-plugin.mjs']), dir, name)])
  const signed = validate(['to_signed', 'hflip', 'auto_augment'], 'signed.yaml')
  assert.equal(signed.code, 2, signed.stderr)
  assert.match(signed.stderr, /signed\.yaml:9:\d+: data\.augment\[2\]: auto_augment works on .* after to_signed \(data\.augment\[0\]\), .*; put auto_augment before to_signed/)
  const always = validate(['standardize', 'trivial_augment_wide'], 'always.yaml')
  assert.equal(always.code, 2, always.stderr)
  assert.match(always.stderr, /always\.yaml:8:\d+: data\.augment\[1\]: trivial_augment_wide works on .* after standardize \(data\.augment\[0\]\)/)
  const needs = validate([NORMALIZE, 'quantize'], 'needs.yaml')
  assert.equal(needs.code, 2, needs.stderr)
  assert.match(needs.stderr, /needs\.yaml:8:\d+: data\.augment\[1\]: quantize works on pixel values in \[0, 1\] .*; put quantize before normalize/)
  const kept = validate(['invert', 'rand_augment', 'quantize', NORMALIZE], 'kept.yaml')
  assert.equal(kept.code, 0, kept.stderr)
})
