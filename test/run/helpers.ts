/** Helpers of the run tests. */
import assert from 'node:assert/strict'
import {withInterrupt} from '../../src/base-command.js'
import {InterruptedError} from '../../src/errors.js'
import {runExperiment} from '../../src/run/experiment.js'

/**
 * Run `spec` into `outDir` and interrupt it with a real SIGINT when a logged line matches `after`
 * (the handler withInterrupt installs catches it); returns the run folder. `log` sees every line.
 */
export async function interrupted(spec: string, outDir: string, after: RegExp, log: (m: string) => void = () => {}): Promise<string> {
  let runDir = ''
  await assert.rejects(
    withInterrupt('finishing the current step', (stop) =>
      runExperiment({
        spec,
        outDir,
        stop,
        log: (m) => {
          log(m)
          if (m.startsWith('run folder: ')) runDir = m.slice('run folder: '.length)
          if (after.test(m)) process.kill(process.pid, 'SIGINT')
        },
      }),
    ),
    (error: unknown) => error instanceof InterruptedError,
  )
  return runDir
}
