package podautoscaler

import (
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// setCondition sets an HPA condition; lastTransitionTime only moves when
// the status changes (upstream setConditionInList).
func setCondition(hpa *autoscalingv2.HorizontalPodAutoscaler, conditionType autoscalingv2.HorizontalPodAutoscalerConditionType, status v1.ConditionStatus, reason, message string, now time.Time) {
	hpa.Status.Conditions = setConditionInList(hpa.Status.Conditions, conditionType, status, reason, message, now)
}

func setConditionInList(inputList []autoscalingv2.HorizontalPodAutoscalerCondition, conditionType autoscalingv2.HorizontalPodAutoscalerConditionType, status v1.ConditionStatus, reason, message string, now time.Time) []autoscalingv2.HorizontalPodAutoscalerCondition {
	resList := inputList
	var existingCond *autoscalingv2.HorizontalPodAutoscalerCondition
	for i, condition := range resList {
		if condition.Type == conditionType {
			existingCond = &resList[i]
			break
		}
	}
	if existingCond == nil {
		resList = append(resList, autoscalingv2.HorizontalPodAutoscalerCondition{Type: conditionType})
		existingCond = &resList[len(resList)-1]
	}
	if existingCond.Status != status {
		existingCond.LastTransitionTime = metav1.NewTime(now)
	}
	existingCond.Status = status
	existingCond.Reason = reason
	existingCond.Message = message
	return resList
}

// GetCondition returns the HPA condition of the given type, or nil.
func GetCondition(status autoscalingv2.HorizontalPodAutoscalerStatus, conditionType autoscalingv2.HorizontalPodAutoscalerConditionType) *autoscalingv2.HorizontalPodAutoscalerCondition {
	for i := range status.Conditions {
		if status.Conditions[i].Type == conditionType {
			c := status.Conditions[i]
			return &c
		}
	}
	return nil
}
