/**
 * Trains the default model multav ships (models/default): `multav train` with the defaults — a
 * torchvision-layout 3D ResNet-18 of widths 8-16-32-64 on the shipped benchmark, 15 epochs, cosine
 * learning rate from 0.02. Resumable.
 *
 * Run: node --import tsx scripts/train-default.ts   (the same as: multav train --out models/default --resume)
 */
import { main } from '../src/cli/main.js'

process.exitCode = await main(['train', '--out', 'models/default', '--resume', ...process.argv.slice(2)])
