/** The `multav` executable: runs the command line and sets the exit code. */
import { main } from './main.js'

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (e: unknown) => {
    process.stderr.write(`multav: ${(e as Error).stack ?? String(e)}\n`)
    process.exitCode = 2
  },
)
