import {Args, Flags} from '@oclif/core'
import {pathFlag} from '../flags.js'
import {BaseCommand} from '../base-command.js'

import {makeTable, TABLE_FORMATS, TableFiles, TableRow} from '../report/index.js'

export interface TableCommandResult {
  rows: TableRow[]
  files: TableFiles
  /** How Top-1 was chosen, what accuracy means, how seeds were aggregated (also under table.md). */
  caption: string
  warnings: string[]
}

export default class Table extends BaseCommand<typeof Table> {
  static summary = 'Write the paper-shaped results table and per-epoch curves for run or sweep folders.'
  static description = [
    'Searches the given folders recursively for runs (summary.json) and sweeps (index.json). Rows follow a sweep\'s index order; other runs follow the paper\'s order of models, then name.',
    'One row per model: runs with the same dataset and label (a seed sweep\'s "[seed=N]" left out of the label) are one row with mean ± sample standard deviation and the number of runs, e.g. "0.8710 ± 0.0031 (n=3)", training time likewise. A seed run more than once counts once (the latest completed run; the others are named in a warning). --per-seed keeps one row per run, with a Seed column.',
    'Writes into --out (default: the first folder): table.csv, table-extended.csv (adds the unrounded mean and std, n, seeds, status, epochs, backend, run folders), table.md (with a caption saying how Top-1 was chosen and what accuracy means), curves.csv (long form: run,label,seed,epoch,split,metric,value), and per figure — curves (test accuracy) and curves-loss (loss per split) — its Vega-Lite spec (.vl.json), .svg and .png. Prints the Markdown table; with --json prints {rows, files, caption, warnings} instead.',
    'Formats: accuracy to 4 decimals; minutes to 1 decimal from 10 minutes up and 2 decimals below; parameters as plain integers. Incomplete runs are marked in table.md, e.g. "0.4123 (incomplete: 12/50 epochs, failed)". --compare-paper adds the published values (Figures 2, 3, 8, 9) in separate "Paper" columns.',
  ].join('\n\n')

  static examples = [
    {description: 'Tabulate a sweep (one row per model, seeds aggregated):', command: '<%= config.bin %> <%= command.id %> results/cifar10-table'},
    {description: 'Next to the published numbers:', command: '<%= config.bin %> <%= command.id %> results/cifar10-table --compare-paper'},
    {description: 'One row per run:', command: '<%= config.bin %> <%= command.id %> results/quickstart-sweep --per-seed'},
    {description: 'Several folders into one table, Markdown only:', command: '<%= config.bin %> <%= command.id %> results/a results/b --out results/combined --format md'},
  ]

  static enableJsonFlag = true

  static args = {
    paths: Args.string({description: 'Run folders, sweep folders, or folders above them.', required: true}),
  }

  static strict = false

  static flags = {
    format: Flags.option({options: TABLE_FORMATS, default: 'both' as const, summary: 'Which table files to write.'})(),
    out: pathFlag('Folder for the output files (default: the first input folder).'),
    'compare-paper': Flags.boolean({summary: "Add the paper's published accuracy and minutes for matching models."}),
    'per-seed': Flags.boolean({aliases: ['all'], deprecateAliases: true, summary: 'One row per run instead of one per model (mean ± std over seeds).'}),
    title: Flags.string({summary: "Figure title (default: the sweep's title, as table.md's heading; else the paper's figure title, else the dataset)."}),
    plot: Flags.boolean({default: true, allowNo: true, summary: 'Draw the figures (.svg, .png); curves.csv is always written.'}),
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
      perSeed: flags['per-seed'],
      title: flags.title,
      plot: flags.plot,
      warn: (message) => process.stderr.write(`Warning: ${message}\n`),
    })
    // A ReportError carries `exit` (2: nothing to tabulate), which BaseCommand turns into the exit code.
    if (!this.jsonEnabled()) this.print(result.markdown)
    return {rows: result.rows, files: result.files, caption: result.caption, warnings: result.warnings}
  }
}
