import {Args} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {cancelSweep, type CancelResult} from '../../sweep/cancel.js'

export default class SweepCancel extends BaseCommand<typeof SweepCancel> {
  static summary = 'Stop a sweep: cancel its Slurm jobs, or signal its local process.'
  static description = `A Slurm sweep's queued and running jobs (the ones index.json records) are cancelled with scancel, its table job included; a local sweep's process (the one holding index.lock, on this machine) gets SIGTERM. Running points stop at a step boundary and keep their last checkpoint: running the sweep again continues them. Nothing to cancel is not an error.`
  static examples = ['<%= config.bin %> sweep cancel results/cifar10-table']
  static args = {dir: Args.directory({required: true, description: 'the sweep folder (results/<sweep name>, holding index.json)'})}

  async run(): Promise<CancelResult> {
    const {args} = await this.parse(SweepCancel)
    const result = await cancelSweep(args.dir, (m) => this.note(m))
    if (!this.jsonEnabled()) this.log(result.message)
    return result
  }
}
