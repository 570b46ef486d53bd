// Génère knowledge/places.tsv (communes actuelles de France, départements 01–95, 2A, 2B et DROM)
// à partir du paquet npm @etalab/decoupage-administratif (version fixée dans scripts/package.json).
//
//   cd scripts && npm ci && node build-places.mjs
//
// Sortie : TSV UTF-8, fins de ligne \n, sans guillemets, une ligne d'en-tête puis une ligne par commune :
//   name  departement  population  postal_codes
// triée par nom (clé sans accents ni casse, puis nom exact), puis code de département, puis code INSEE.
// Déterministe : même version du paquet => même fichier, octet pour octet.

import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const here = dirname(fileURLToPath(import.meta.url))
const outPath = join(here, '..', 'knowledge', 'places.tsv')

const pkgJsonPath = require.resolve('@etalab/decoupage-administratif/package.json')
const pkg = JSON.parse(readFileSync(pkgJsonPath, 'utf8'))
const communes = JSON.parse(
  readFileSync(join(dirname(pkgJsonPath), 'data', 'communes.json'), 'utf8')
)

// Les 101 départements servis par le bot (mêmes codes que knowledge/departements.toml).
const DEPARTEMENTS = new Set([
  ...Array.from({ length: 95 }, (_, i) => String(i + 1).padStart(2, '0')).filter((c) => c !== '20'),
  '2A', '2B', '971', '972', '973', '974', '976',
])

// Clé de tri indépendante de la locale (pas d'Intl/ICU) : minuscules sans diacritiques.
const foldKey = (s) => s.normalize('NFD').replace(/\p{Mn}/gu, '').toLowerCase()
const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0)

const clean = (s) => {
  const t = String(s).trim()
  if (/[\t\n\r"]/.test(t)) throw new Error(`caractère interdit dans ${JSON.stringify(t)}`)
  return t
}

const rows = []
const skipped = {}
for (const c of communes) {
  if (c.type !== 'commune-actuelle') continue
  if (!DEPARTEMENTS.has(c.departement)) {
    skipped[c.departement] = (skipped[c.departement] ?? 0) + 1
    continue
  }
  const population = Number.isInteger(c.population) && c.population > 0 ? c.population : 0
  const postal = [...new Set(c.codesPostaux ?? [])].map(clean).sort(cmp)
  rows.push({
    name: clean(c.nom),
    key: foldKey(c.nom),
    dep: c.departement,
    insee: c.code,
    population,
    postal: postal.join(','),
  })
}

rows.sort((a, b) => cmp(a.key, b.key) || cmp(a.name, b.name) || cmp(a.dep, b.dep) || cmp(a.insee, b.insee))

const lines = ['name\tdepartement\tpopulation\tpostal_codes']
for (const r of rows) lines.push(`${r.name}\t${r.dep}\t${r.population}\t${r.postal}`)
writeFileSync(outPath, lines.join('\n') + '\n', 'utf8')

const deps = new Set(rows.map((r) => r.dep))
const missing = [...DEPARTEMENTS].filter((d) => !deps.has(d))
if (missing.length) throw new Error(`départements sans commune : ${missing.join(' ')}`)

console.log(`${pkg.name}@${pkg.version}`)
console.log(`${rows.length} communes écrites dans ${outPath}`)
console.log(`sans population : ${rows.filter((r) => r.population === 0).length}, sans code postal : ${rows.filter((r) => r.postal === '').length}`)
console.log(`ignorées (hors des 101 départements) : ${JSON.stringify(skipped)}`)
