package awslambda

import (
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// The SDK answers GetFunctionConfiguration, UpdateFunctionCode,
// UpdateFunctionConfiguration and PublishVersion with four output structs
// that repeat the members of types.FunctionConfiguration; these copy the
// members the adapter reads into one types.FunctionConfiguration.

func configFromGetFunctionConfiguration(o *lambda.GetFunctionConfigurationOutput) *types.FunctionConfiguration {
	return &types.FunctionConfiguration{
		CodeSha256:                 o.CodeSha256,
		CodeSize:                   o.CodeSize,
		Description:                o.Description,
		Environment:                o.Environment,
		FunctionArn:                o.FunctionArn,
		FunctionName:               o.FunctionName,
		Handler:                    o.Handler,
		LastModified:               o.LastModified,
		LastUpdateStatus:           o.LastUpdateStatus,
		LastUpdateStatusReason:     o.LastUpdateStatusReason,
		LastUpdateStatusReasonCode: o.LastUpdateStatusReasonCode,
		MemorySize:                 o.MemorySize,
		PackageType:                o.PackageType,
		RevisionId:                 o.RevisionId,
		Role:                       o.Role,
		Runtime:                    o.Runtime,
		State:                      o.State,
		StateReason:                o.StateReason,
		StateReasonCode:            o.StateReasonCode,
		Timeout:                    o.Timeout,
		Version:                    o.Version,
	}
}

func configFromUpdateFunctionCode(o *lambda.UpdateFunctionCodeOutput) *types.FunctionConfiguration {
	return &types.FunctionConfiguration{
		CodeSha256:                 o.CodeSha256,
		CodeSize:                   o.CodeSize,
		Description:                o.Description,
		Environment:                o.Environment,
		FunctionArn:                o.FunctionArn,
		FunctionName:               o.FunctionName,
		Handler:                    o.Handler,
		LastModified:               o.LastModified,
		LastUpdateStatus:           o.LastUpdateStatus,
		LastUpdateStatusReason:     o.LastUpdateStatusReason,
		LastUpdateStatusReasonCode: o.LastUpdateStatusReasonCode,
		MemorySize:                 o.MemorySize,
		PackageType:                o.PackageType,
		RevisionId:                 o.RevisionId,
		Role:                       o.Role,
		Runtime:                    o.Runtime,
		State:                      o.State,
		StateReason:                o.StateReason,
		StateReasonCode:            o.StateReasonCode,
		Timeout:                    o.Timeout,
		Version:                    o.Version,
	}
}

func configFromUpdateFunctionConfiguration(o *lambda.UpdateFunctionConfigurationOutput) *types.FunctionConfiguration {
	return &types.FunctionConfiguration{
		CodeSha256:                 o.CodeSha256,
		CodeSize:                   o.CodeSize,
		Description:                o.Description,
		Environment:                o.Environment,
		FunctionArn:                o.FunctionArn,
		FunctionName:               o.FunctionName,
		Handler:                    o.Handler,
		LastModified:               o.LastModified,
		LastUpdateStatus:           o.LastUpdateStatus,
		LastUpdateStatusReason:     o.LastUpdateStatusReason,
		LastUpdateStatusReasonCode: o.LastUpdateStatusReasonCode,
		MemorySize:                 o.MemorySize,
		PackageType:                o.PackageType,
		RevisionId:                 o.RevisionId,
		Role:                       o.Role,
		Runtime:                    o.Runtime,
		State:                      o.State,
		StateReason:                o.StateReason,
		StateReasonCode:            o.StateReasonCode,
		Timeout:                    o.Timeout,
		Version:                    o.Version,
	}
}

func configFromPublishVersion(o *lambda.PublishVersionOutput) *types.FunctionConfiguration {
	return &types.FunctionConfiguration{
		CodeSha256:                 o.CodeSha256,
		CodeSize:                   o.CodeSize,
		Description:                o.Description,
		Environment:                o.Environment,
		FunctionArn:                o.FunctionArn,
		FunctionName:               o.FunctionName,
		Handler:                    o.Handler,
		LastModified:               o.LastModified,
		LastUpdateStatus:           o.LastUpdateStatus,
		LastUpdateStatusReason:     o.LastUpdateStatusReason,
		LastUpdateStatusReasonCode: o.LastUpdateStatusReasonCode,
		MemorySize:                 o.MemorySize,
		PackageType:                o.PackageType,
		RevisionId:                 o.RevisionId,
		Role:                       o.Role,
		Runtime:                    o.Runtime,
		State:                      o.State,
		StateReason:                o.StateReason,
		StateReasonCode:            o.StateReasonCode,
		Timeout:                    o.Timeout,
		Version:                    o.Version,
	}
}
