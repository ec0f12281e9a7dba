import * as cdk from 'aws-cdk-lib';
import { Construct } from 'constructs';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';

// The chat of examples/sam-chat, written with the CDK. `cdk synth` writes
// cdk.out/CdkChatStack.template.json and the asset directory of lambda/.
export class CdkChatStack extends cdk.Stack {
  constructor(scope: Construct, id: string, props?: cdk.StackProps) {
    super(scope, id, props);

    const connections = new dynamodb.Table(this, 'Connections', {
      partitionKey: { name: 'connectionId', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      removalPolicy: cdk.RemovalPolicy.DESTROY,
    });

    const handler = (id: string, entry: string) => {
      const fn = new lambda.Function(this, id, {
        runtime: lambda.Runtime.PYTHON_3_12,
        handler: entry,
        code: lambda.Code.fromAsset('lambda'),
        environment: { TABLE_NAME: connections.tableName },
      });
      connections.grantReadWriteData(fn);
      return fn;
    };
    const onConnect = handler('OnConnect', 'app.on_connect');
    const onDisconnect = handler('OnDisconnect', 'app.on_disconnect');
    const sendMessage = handler('SendMessage', 'app.send_message');

    const api = new WebSocketApi(this, 'ChatApi', {
      connectRouteOptions: { integration: new WebSocketLambdaIntegration('ConnectIntegration', onConnect) },
      disconnectRouteOptions: { integration: new WebSocketLambdaIntegration('DisconnectIntegration', onDisconnect) },
    });
    api.addRoute('sendmessage', {
      integration: new WebSocketLambdaIntegration('SendIntegration', sendMessage),
    });
    api.grantManageConnections(sendMessage);

    const stage = new WebSocketStage(this, 'ProdStage', {
      webSocketApi: api,
      stageName: 'prod',
      autoDeploy: true,
    });
    new cdk.CfnOutput(this, 'WebSocketUrl', { value: stage.url });
  }
}
