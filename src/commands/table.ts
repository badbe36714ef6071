import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'

import {makeTable, TABLE_FORMATS, TableFiles, TableRow} from '../report/index.js'

export interface TableCommandResult {
  rows: TableRow[]
  files: TableFiles
  warnings: string[]
}

export default class Table extends BaseCommand<typeof Table> {
  static summary = 'Write the paper-shaped results table and accuracy curves for run or sweep folders.'
  static description = [
    'Searches the given folders recursively for runs (summary.json) and sweeps (index.json). Rows follow a sweep\'s index order; other runs follow the paper\'s order of models, then name. When one model (same label and dataset) was run several times, the latest completed run is used and the others are named in a warning; --all keeps every run.',
    'Writes into --out (default: the first folder): table.csv, table-extended.csv (adds status, epochs, seed, backend, run folder), table.md, curves.csv (per-epoch test accuracy, one column per model), curves.svg and curves.png. Prints the Markdown table; with --json prints {rows, files, warnings} instead.',
    'Formats: accuracy to 4 decimals; minutes to 1 decimal from 10 minutes up and 2 decimals below; parameters as plain integers. Incomplete runs are marked in table.md, e.g. "0.4123 (incomplete: 12/50 epochs, failed)". --compare-paper adds the published values (Figures 2, 3, 8, 9) in separate "Paper" columns.',
  ].join('\n\n')

  static examples = [
    '<%= config.bin %> <%= command.id %> results/cifar10-table',
    '<%= config.bin %> <%= command.id %> results/cifar10-table --compare-paper',
    '<%= config.bin %> <%= command.id %> results/a results/b --out results/combined --format md',
  ]

  static enableJsonFlag = true

  static args = {
    paths: Args.string({description: 'Run folders, sweep folders, or folders above them.', required: true}),
  }

  static strict = false

  static flags = {
    format: Flags.option({options: TABLE_FORMATS, default: 'both' as const, summary: 'Which table files to write.'})(),
    out: Flags.directory({summary: 'Folder for the output files (default: the first input folder).'}),
    'compare-paper': Flags.boolean({summary: "Add the paper's published accuracy and minutes for matching models."}),
    all: Flags.boolean({summary: 'Keep every run, not only the latest completed run of each model.'}),
    title: Flags.string({summary: "Plot title (default: the paper's figure title, else the dataset)."}),
    plot: Flags.boolean({default: true, allowNo: true, summary: 'Draw curves.svg and curves.png.'}),
  }

  /** Where the Markdown table goes (stdout). */
  protected print(text: string): void {
    process.stdout.write(text)
  }

  async run(): Promise<TableCommandResult> {
    const {argv, flags} = await this.parse(Table)
    const result = await makeTable({
      paths: argv as string[],
      out: flags.out,
      format: flags.format,
      comparePaper: flags['compare-paper'],
      all: flags.all,
      title: flags.title,
      plot: flags.plot,
      warn: (message) => process.stderr.write(`Warning: ${message}\n`),
    })
    // A ReportError carries `exit` (2: nothing to tabulate), which BaseCommand turns into the exit code.
    if (!this.jsonEnabled()) this.print(result.markdown)
    return {rows: result.rows, files: result.files, warnings: result.warnings}
  }
}
