import { IsBoolean, IsOptional } from 'class-validator';

export class UpdateNotificationBody {
  @IsOptional()
  @IsBoolean()
  read?: boolean;

  @IsOptional()
  @IsBoolean()
  archived?: boolean;
}
