/** The `multav` executable: runs the command line and sets the exit code. */
import { debugWanted, reportError } from './errors.js'
import { main } from './main.js'

const argv = process.argv.slice(2)
main(argv).then(
  (code) => {
    process.exitCode = code
  },
  // main reports every error itself; this is the last resort (e.g. a closed stderr)
  (e: unknown) => {
    const report = reportError(e, debugWanted(argv.includes('--debug')))
    process.stderr.write(report.lines.map((line) => `${line}\n`).join(''))
    process.exitCode = report.code
  },
)
