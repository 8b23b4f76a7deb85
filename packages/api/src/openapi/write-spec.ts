/** `npm run openapi -w @ctrl-exec/api`: regenerate packages/api/openapi.json from the routes. */
import { writeOpenApiDocument } from './generate.js';

const path = await writeOpenApiDocument(process.argv[2]);
console.log(`wrote ${path}`);
