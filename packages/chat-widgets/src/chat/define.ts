import { define } from '../shared/define.js';
import { MotoreachChat } from './chat.js';

define('motoreach-chat', MotoreachChat);
