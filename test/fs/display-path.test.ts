// One rule for showing paths in messages, in specs' errors and in reports alike.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {dirname, join} from 'node:path'
import {displayPath} from '../../src/fs/display-path.js'

test('inside the working folder a path is shown relative to it, the folder itself as ".", anything else as given', () => {
  const cwd = process.cwd()
  assert.equal(displayPath(join(cwd, 'configs', 'quickstart.yaml')), join('configs', 'quickstart.yaml'))
  assert.equal(displayPath(cwd), '.')
  const outside = join(dirname(cwd), 'elsewhere', 'spec.yaml')
  assert.equal(displayPath(outside), outside)
})
