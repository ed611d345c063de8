import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { INBOX_STATUSES, InboxStatus } from '../notification';

export class ListNotificationsQuery {
  @IsOptional()
  @Type(() => Number)
  @Min(1)
  @Max(100)
  @IsInt()
  limit: number = 20;

  @IsOptional()
  @IsString()
  @MaxLength(40)
  cursor?: string;

  @IsOptional()
  @IsIn(INBOX_STATUSES)
  status: InboxStatus = 'all';

  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_.:-]{1,100}$/, { message: 'type must be 1-100 of [A-Za-z0-9_.:-]' })
  type?: string;
}
