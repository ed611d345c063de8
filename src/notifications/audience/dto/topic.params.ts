import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';
import { NAME, NAME_RULE } from '../../addressed-message';

export class TopicParams {
  @ApiProperty({ type: String, pattern: NAME, example: 'orders' })
  @Matches(NAME, { message: `topic must be ${NAME_RULE}` })
  @IsString()
  topic: string;
}
