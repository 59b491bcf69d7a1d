import { define } from '../shared/define.js';
import { MotoreachInbox } from './inbox.js';

define('motoreach-inbox', MotoreachInbox);
