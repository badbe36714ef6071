import {Args} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {finishSweep, type FinishResult} from '../../sweep/finish.js'

export default class SweepFinish extends BaseCommand<typeof SweepFinish> {
  static summary = 'Record every point\'s outcome in a sweep\'s index.json and write its table.'
  static description = `What a Slurm sweep's table job runs once its job array has ended; run it by hand after submitting array.sbatch yourself, or to see the table of what is done so far (unfinished points are marked). Exit code 0 when the table is written, 1 when it could not be.`
  static examples = ['<%= config.bin %> sweep finish results/cifar10-table']
  static args = {dir: Args.directory({required: true, description: 'the sweep folder (results/<sweep name>, holding index.json)'})}

  async run(): Promise<FinishResult> {
    const {args} = await this.parse(SweepFinish)
    const result = await finishSweep(args.dir, (m) => this.note(m))
    if (!this.jsonEnabled()) {
      for (const p of result.points) this.log(`${p.run_dir.padEnd(40)} ${p.detail}`)
      if (result.table) this.log(`\n${result.table}`)
    }
    if (!result.table) process.exitCode = 1
    return result
  }
}
