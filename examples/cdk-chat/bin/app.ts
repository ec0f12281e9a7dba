#!/usr/bin/env node
import * as cdk from 'aws-cdk-lib';
import { CdkChatStack } from '../lib/chat-stack';

const app = new cdk.App();
new CdkChatStack(app, 'CdkChatStack');
