import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {editorSchema} from '../../src/config/editor-schema.js'
import {REPO} from '../helpers.js'
import '../../src/builtins.js'

test('schema/spec.schema.json is the current editor schema (regenerate: mixture schema > schema/spec.schema.json)', () => {
  const committed = JSON.parse(readFileSync(join(REPO, 'schema', 'spec.schema.json'), 'utf8'))
  assert.deepEqual(committed, JSON.parse(JSON.stringify(editorSchema())))
})
