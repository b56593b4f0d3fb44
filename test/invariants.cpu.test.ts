import { registerInvariants } from './suites/invariants.js'

registerInvariants('cpu')
