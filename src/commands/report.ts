import {Args, Flags} from '@oclif/core'
import {pathFlag} from '../flags.js'
import {BaseCommand} from '../base-command.js'

import {makeReport, type ReportResult} from '../report/make-report.js'

export default class Report extends BaseCommand<typeof Report> {
  static summary = 'Write one self-contained HTML report of run or sweep folders: tables, interactive curves, per-run details.'
  static description = [
    'Searches the given folders recursively for runs (summary.json) and sweeps (index.json), as `mixture table` does. Per dataset: the paper-layout table (one row per model, mean ± std and n over seeds; --per-seed for one row per run) with its caption, and interactive accuracy and loss curves (mean line, ±std band; hover for values, click a legend entry to highlight a model). Per run: its numbers, the confusion matrices its evaluations left in eval/*/confusion.csv, config.yaml and env.json.',
    'The page carries its charts\' code and data, so it opens without a network. Only the HTML file is written; run folders are not changed. With --json prints {file, sections, runs, charts, warnings}.',
  ].join('\n\n')

  static examples = [
    {description: 'A sweep, into results/cifar10-table/report.html:', command: '<%= config.bin %> <%= command.id %> results/cifar10-table'},
    {description: 'Several folders into one page:', command: '<%= config.bin %> <%= command.id %> results/cifar10-table results/cifar100-table --out paper-report.html --compare-paper'},
  ]

  static enableJsonFlag = true
  static strict = false
  static args = {paths: Args.string({description: 'Run folders, sweep folders, or folders above them.', required: true})}
  static flags = {
    out: pathFlag('The HTML file to write, or a folder for report.html (default: report.html in the first input folder).'),
    'per-seed': Flags.boolean({summary: 'One table row per run instead of one per model.'}),
    'compare-paper': Flags.boolean({summary: "Add the paper's published accuracy and minutes for matching models."}),
    title: Flags.string({summary: 'Page title (default: the sweep\'s title: where each input is a sweep that has one; else "Results: " and each input\'s title or folder name).'}),
  }

  async run(): Promise<ReportResult> {
    const {argv, flags} = await this.parse(Report)
    const result = await makeReport({
      paths: argv as string[],
      out: flags.out,
      perSeed: flags['per-seed'],
      comparePaper: flags['compare-paper'],
      title: flags.title,
      warn: (message) => process.stderr.write(`Warning: ${message}\n`),
    })
    if (!this.jsonEnabled()) this.log(result.file)
    return result
  }
}
