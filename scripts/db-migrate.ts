// npm run db:migrate: apply the committed migrations to DATABASE_URL (start-up does the same).
import { loadConfig } from '../src/config.js'
import { migrate } from '../src/store/migrate.js'

const { DATABASE_URL } = loadConfig()
const applied = await migrate(DATABASE_URL)
console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date')
