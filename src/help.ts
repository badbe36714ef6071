/**
 * `mixture <command> --help`: oclif's help, with each command's description shown whole. oclif
 * either repeats the summary above the description (its default) or, with
 * `hideCommandSummaryInDescription`, keeps only the description's last line (it takes the summary
 * to be the description's first line, which ours never is). Every command here has a summary of
 * its own, printed once at the top, and a description of several paragraphs.
 */
import {CommandHelp, Help} from '@oclif/core'

/** The DESCRIPTION section: the command's description, every line of it, without the summary. */
class DescriptionHelp extends CommandHelp {
  protected description(): string | undefined {
    const {description} = this.command
    return description ? this.wrap(description) : undefined
  }
}

export default class MixtureHelp extends Help {
  protected CommandHelpClass = DescriptionHelp
}
