// The test harness itself: a missing requirement skips (and is counted) or, when MIXTURE_REQUIRE
// names it, fails saying what is missing; npm test's setup clears the caller's engine switches.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {REPO, tempDir} from './helpers.js'
import {requiredNow, skipUnless} from './require.js'

test('skipUnless: false when present, the reason when missing, an error when MIXTURE_REQUIRE names it', () => {
  assert.equal(skipUnless('webgpu', false, {}), false)
  assert.match(skipUnless('webgpu', 'no adapter', {}) as string, /^webgpu is missing here \(no adapter\); it needs a WebGPU adapter/)
  assert.throws(() => skipUnless('webgpu', 'no adapter', {MIXTURE_REQUIRE: 'native, webgpu'}), /MIXTURE_REQUIRE includes webgpu, but webgpu is missing here \(no adapter\); it needs .*lavapipe/)
  assert.equal(skipUnless('webgpu', false, {MIXTURE_REQUIRE: 'webgpu'}), false)
  assert.throws(() => requiredNow({MIXTURE_REQUIRE: 'webgpu,gpuu'}), /MIXTURE_REQUIRE names gpuu, which no suite knows/)
  assert.throws(() => skipUnless('quantum', 'x', {}), /unknown requirement "quantum"/)
})

/** A suite needing webgpu, which is reported missing: run it with node --test and return the summary. */
function runSuite(env: NodeJS.ProcessEnv): string {
  const file = join(tempDir(), 'gpu.test.mjs')
  writeFileSync(
    file,
    `import {describe} from 'node:test'\nimport {needing} from ${JSON.stringify(pathToFileURL(join(REPO, 'dist', 'test', 'require.js')).href)}\n` +
      `const {it} = needing('webgpu', 'no adapter in this test')\ndescribe('gpu suite', () => {\n  it('one', () => { throw new Error('ran') })\n  it('two', {timeout: 1000}, () => { throw new Error('ran') })\n})\n`,
  )
  const r = spawnSync(process.execPath, ['--test', file], {encoding: 'utf8', env})
  return r.stdout + r.stderr
}

test('a suite whose requirement is missing: each test counted as skipped; required, it fails naming what is missing', () => {
  const env = {...process.env}
  delete env.MIXTURE_REQUIRE
  delete env.NODE_TEST_CONTEXT // else the child takes itself for a file of this run and runs nothing
  const skipped = runSuite(env)
  assert.match(skipped, /# tests 2\n# suites 1\n# pass 0\n# fail 0\n# cancelled 0\n# skipped 2/)
  const required = runSuite({...env, MIXTURE_REQUIRE: 'webgpu'})
  assert.match(required, /# fail 1/)
  assert.match(required, /MIXTURE_REQUIRE includes webgpu, but webgpu is missing here \(no adapter in this test\)/)
})

test("npm test's setup clears the caller's MIXTURE_* switches and keeps what says which suites run and where", () => {
  const r = spawnSync(process.execPath, ['--import', join(REPO, 'dist', 'test', 'setup.js'), '-e', 'console.log(JSON.stringify(Object.keys(process.env).filter((k) => k.startsWith("MIXTURE_")).sort()))'], {
    encoding: 'utf8',
    env: {...process.env, MIXTURE_WEBGPU_FUSED: '0', MIXTURE_WEBGPU_TUNE: '0', MIXTURE_BACKEND: 'wasm', MIXTURE_REQUIRE: 'native', MIXTURE_WEBGPU_ALLOW_SOFTWARE: '1', MIXTURE_CHROMIUM: '/usr/bin/chromium'},
  })
  assert.deepEqual(JSON.parse(r.stdout), ['MIXTURE_CHROMIUM', 'MIXTURE_REQUIRE', 'MIXTURE_WEBGPU_ALLOW_SOFTWARE'])
})
