from django.urls import path

from apps.orders import api

urlpatterns = [
    path("orders/", api.OrderListCreateApi.as_view(), name="order-list"),
    path("orders/bulk/", api.OrderBulkCreateApi.as_view(), name="order-bulk"),
    path("orders/<int:order_id>/", api.OrderDetailApi.as_view(), name="order-detail"),
    path("payments/", api.PaymentCreateApi.as_view(), name="payment-create"),
    path("payments/<int:payment_id>/", api.PaymentDetailApi.as_view(), name="payment-detail"),
    path("shipments/", api.ShipmentCreateApi.as_view(), name="shipment-create"),
    path("shipments/<int:shipment_id>/", api.ShipmentDetailApi.as_view(), name="shipment-detail"),
    path("shipments/<int:shipment_id>/events/", api.TrackingEventCreateApi.as_view(), name="tracking-event-create"),
    path("products/", api.ProductListApi.as_view(), name="product-list"),
    path("products/<str:sku>/", api.ProductDetailApi.as_view(), name="product-detail"),
    path("inventory/", api.StockLevelListApi.as_view(), name="stock-level-list"),
    path("inventory/<str:sku>/", api.StockLevelDetailApi.as_view(), name="stock-level-detail"),
]
