// What Slurm's commands said: a controller that cannot be reached is a runtime failure (try again),
// not a setting of the user's that Slurm refused.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {controllerUnreachable} from '../../src/slurm/cli.js'

test("an unreachable controller is told apart from Slurm refusing the job's settings", () => {
  const said = (stderr: string) => ({code: 1, stdout: '', stderr})
  assert.equal(controllerUnreachable(said('sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)')), true)
  assert.equal(controllerUnreachable(said('sbatch: error: Socket timed out on send/recv operation')), true)
  assert.equal(controllerUnreachable(said('sbatch: error: Batch job submission failed: Invalid partition name specified')), false)
  assert.equal(controllerUnreachable(said('sbatch: error: Batch job submission failed: Requested node configuration is not available')), false)
})
