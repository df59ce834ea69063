'use strict';
// The npm package as users get it: the main package (JavaScript and types, no native code) and
// this platform's package (the prebuilt addon) packed as tarballs, installed into an empty
// project with no Rust toolchain on the PATH, and the TypeScript quickstart compiled and run
// against them. Needs the addon built (`npm run build`) and the npm registry (for TypeScript).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const { root, parseForecastCsv, quickstartCliForecast } = require('../test-support/helpers.js');

const pkgDir = path.resolve(__dirname, '..');
const pkg = require('../package.json');

/** The addon `npm run build` made, and the platform it is for (`linux-x64-gnu`, ...). */
function builtAddon() {
  const nativeDir = path.join(pkgDir, 'native');
  const name = fs.readdirSync(nativeDir).find((f) => f.endsWith('.node'));
  assert.ok(name, 'build the addon first: npm run build');
  const platform = name.slice(`${pkg.napi.binaryName}.`.length, -'.node'.length);
  return { file: path.join(nativeDir, name), platform };
}

/** Runs npm with `args` in `cwd`; returns its standard output. */
function npm(args, cwd, env = process.env) {
  return execFileSync('npm', args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `npm pack` of `dir` into `dest`; returns the tarball's path. */
function pack(dir, dest) {
  const [info] = JSON.parse(npm(['pack', '--json', '--pack-destination', dest], dir));
  return path.join(dest, info.filename);
}

/** The environment of a machine without Rust: Node's folder and the system's on the PATH. */
function envWithoutRust() {
  const env = { ...process.env, PATH: [path.dirname(process.execPath), '/usr/bin', '/bin'].join(path.delimiter) };
  for (const key of Object.keys(env)) if (/^(CARGO|RUSTUP|RUST)/.test(key)) delete env[key];
  return env;
}

test('every platform the package names has a package folder with its binary name', () => {
  const targets = pkg.napi.targets;
  assert.ok(targets.includes('x86_64-unknown-linux-gnu') && targets.includes('aarch64-apple-darwin'));
  const folders = fs.readdirSync(path.join(pkgDir, 'npm')).sort();
  assert.equal(folders.length, targets.length);
  for (const folder of folders) {
    const platform = require(path.join(pkgDir, 'npm', folder, 'package.json'));
    assert.equal(platform.name, `${pkg.name}-${folder}`);
    assert.equal(platform.version, pkg.version);
    assert.deepEqual(platform.files, [`${pkg.napi.binaryName}.${folder}.node`]);
  }
});

test('the packed tarballs install without Rust and the TypeScript quickstart prints the CLI forecasts', { timeout: 600_000 }, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nd-npm-install-'));
  try {
    const addon = builtAddon();
    // What `napi prepublish` (npm's prepublishOnly) publishes: package.json gains every platform
    // package as an optional dependency at the same version; npm installs the one that matches.
    const stagedMain = path.join(tmp, 'main');
    fs.mkdirSync(stagedMain);
    for (const f of ['lib', 'native']) fs.cpSync(path.join(pkgDir, f), path.join(stagedMain, f), { recursive: true });
    const published = { ...pkg, optionalDependencies: {} };
    for (const folder of fs.readdirSync(path.join(pkgDir, 'npm'))) published.optionalDependencies[`${pkg.name}-${folder}`] = pkg.version;
    fs.writeFileSync(path.join(stagedMain, 'package.json'), JSON.stringify(published, null, 2));
    const main = pack(stagedMain, tmp);
    const mainFiles = execFileSync('tar', ['-tzf', main], { encoding: 'utf8' }).trim().split('\n');
    assert.ok(mainFiles.includes('package/native/binding.js'), 'the main package carries the loader');
    assert.deepEqual(mainFiles.filter((f) => f.endsWith('.node')), [], 'the main package carries no native code');

    const staged = path.join(tmp, addon.platform);
    fs.mkdirSync(staged);
    for (const f of fs.readdirSync(path.join(pkgDir, 'npm', addon.platform))) {
      fs.copyFileSync(path.join(pkgDir, 'npm', addon.platform, f), path.join(staged, f));
    }
    fs.copyFileSync(addon.file, path.join(staged, path.basename(addon.file)));
    const platform = pack(staged, tmp);

    // The quickstart reads ../../air_passengers.csv from its compiled folder (app/dist).
    const app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    fs.copyFileSync(path.join(root, 'examples', 'air_passengers.csv'), path.join(tmp, 'air_passengers.csv'));
    fs.copyFileSync(path.join(root, 'examples', 'node', 'quickstart.ts'), path.join(app, 'quickstart.ts'));
    const tsconfig = JSON.parse(fs.readFileSync(path.join(root, 'examples', 'node', 'tsconfig.json'), 'utf8'));
    tsconfig.files = ['quickstart.ts'];
    fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify(tsconfig));
    const examplePkg = require(path.join(root, 'examples', 'node', 'package.json'));
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({
      name: 'quickstart-from-tarballs',
      private: true,
      dependencies: { [pkg.name]: `file:${main}`, [`${pkg.name}-${addon.platform}`]: `file:${platform}` },
      devDependencies: examplePkg.devDependencies,
    }));

    const env = envWithoutRust();
    const rust = spawnSync('sh', ['-c', 'command -v cargo || command -v rustc'], { env });
    assert.notEqual(rust.status, 0, `Rust is still on the PATH: ${rust.stdout}`);
    npm(['install', '--no-audit', '--no-fund'], app, env);
    const installed = path.join(app, 'node_modules', pkg.name, 'native');
    assert.deepEqual(fs.readdirSync(installed).filter((f) => f.endsWith('.node')), []);

    execFileSync(path.join(app, 'node_modules', '.bin', 'tsc'), ['-p', '.'], { cwd: app, env });
    const out = execFileSync(process.execPath, [path.join(app, 'dist', 'quickstart.js')], {
      cwd: app, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'],
    });
    assert.deepEqual(parseForecastCsv(out), quickstartCliForecast());
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
