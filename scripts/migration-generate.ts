// npm run migration:generate -- <PascalName>
// Brings DATABASE_URL up to date, generates the diff between entities and schema as migrations/<ms>-<Name>.ts,
// and appends it to migrations/index.ts (the list the app runs).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const name = process.argv[2];
if (!name || !/^[A-Z][A-Za-z0-9]+$/.test(name)) {
  console.error('usage: npm run migration:generate -- <PascalName>');
  process.exit(2);
}
const typeorm = ['tsx', './node_modules/typeorm/cli.js', '-d', 'src/database/data-source.ts'];
execFileSync('npx', [...typeorm, 'migration:run'], { stdio: 'inherit' });
execFileSync('npx', [...typeorm, 'migration:generate', `migrations/${name}`], { stdio: 'inherit' });

const file = readdirSync('migrations').filter((f) => f.endsWith(`-${name}.ts`)).sort().pop();
if (!file) throw new Error('generated migration not found');
const className = `${name}${file.split('-')[0]}`;
const index = readFileSync('migrations/index.ts', 'utf8')
  .replace(/((?:^import .*\n)+)/m, `$1import { ${className} } from './${file.replace(/\.ts$/, '.js')}';\n`)
  .replace(/(= \[\n)([\s\S]*?)(\];)/, (_m, open: string, body: string, close: string) => `${open}${body}  ${className},\n${close}`);
writeFileSync('migrations/index.ts', index);
console.log(`added ${className} to migrations/index.ts`);
