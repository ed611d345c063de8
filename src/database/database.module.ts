import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { HeraldConfig } from '../config/herald-config';
import { Database } from './database';

/** Opens storage (and migrates it) once; closes it last, so an open PGlite never pins the process. */
@Global()
@Module({
  providers: [
    {
      provide: Database,
      inject: [HeraldConfig],
      useFactory: (config: HeraldConfig) => Database.open(config.database),
    },
  ],
  exports: [Database],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(Database) private readonly database: Database) {}

  async onApplicationShutdown(): Promise<void> {
    await this.database.close();
  }
}
