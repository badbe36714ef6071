import {Args} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {sweepStatus, type SweepStatusReport} from '../../sweep/status.js'

export default class SweepStatus extends BaseCommand<typeof SweepStatus> {
  static summary = 'Where every point of a sweep stands: pending, running (node, epoch), completed, failed (why), interrupted, crashed.'
  static description = `Reads the sweep folder's index.json, each point's summary.json, log and attempts.jsonl (how each process that trained it ended), and for a Slurm sweep asks squeue (queued, running, on which node, why it waits) and sacct (where the cluster keeps accounting). Works for local and Slurm sweeps, while they run and after. Exit code 0 whatever the points' states; 2 when the folder is not a sweep's.`
  static examples = ['<%= config.bin %> sweep status results/cifar10-table', '<%= config.bin %> sweep status results/cifar10-table --json']
  static args = {dir: Args.directory({required: true, description: 'the sweep folder (results/<sweep name>, holding index.json)'})}

  async run(): Promise<SweepStatusReport> {
    const {args} = await this.parse(SweepStatus)
    const report = sweepStatus(args.dir)
    if (!this.jsonEnabled()) {
      const jobs = report.jobs.length > 0 ? `; jobs ${report.jobs.map((j) => `${j.id} (${j.kind}: ${j.state})`).join(', ')}` : ''
      this.log(`sweep ${report.name} (${report.launcher}${report.owner ? `, run by ${report.owner}` : ''}${jobs}): ${Object.entries(report.counts).map(([s, n]) => `${n} ${s}`).join(', ')}`)
      for (const p of report.points) {
        this.log(`${p.run_dir.padEnd(40)} ${p.detail}`)
        if ((p.state === 'failed' || p.state === 'crashed') && p.log_tail) for (const line of p.log_tail.slice(-3)) this.log(`${''.padEnd(42)}| ${line}`)
      }
      for (const note of report.notes) this.note(note)
      if (report.table) this.log(`table: ${report.table}`)
    }
    return report
  }
}
